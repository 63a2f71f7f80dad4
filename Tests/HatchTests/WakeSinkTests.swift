import LoopTestSupport
import Synchronization
import Testing

@testable import Hatch

/// diatomic-waker's tests, expressed in Swift, plus cancellation and many-notifier stress.
@Suite("WakeSink", .timeLimit(.minutes(1)))
struct WakeSinkTests {
    @Test func waitUntilWithASpuriousNotificationFirst() async throws {
        for _ in 0..<(50 * stressFactor) {
            let sink = WakeSink()
            let source = sink.source()
            let flag = Counter()
            let step = Counter()
            let notifier = PlainThread {
                spinUntil { step.value == 1 }
                source.notify()  // spurious
                flag.store(1)
                source.notify()
            }
            var checks = 0
            try await sink.wait {
                checks += 1
                if checks == 2 { step.store(1) }  // registered once
                return flag.value == 1 ? () : nil
            }
            #expect(flag.value == 1)
            await notifier.join()
        }
    }

    @Test func readyPredicateDoesNotRegister() async throws {
        let sink = WakeSink()
        #expect(try await sink.wait { 7 } == 7)
        #expect(!sink.hasWaiter)
        sink.source().notify()  // nobody waits: nothing happens
    }

    @Test func latestWaiterIsWoken() async throws {
        let sink = WakeSink()
        let value = Counter()
        for round in 1...20 {
            let waiting = Task { try await sink.wait { value.value == round ? round : nil } }
            await waitUntil { sink.hasWaiter }
            value.store(round)
            sink.source().notify()
            #expect(try await waiting.value == round)
        }
    }

    @Test func cancelledWaitThrowsCancellationError() async {
        let sink = WakeSink()
        let waiting = Task { try await sink.wait { Int?.none } }
        await waitUntil { sink.hasWaiter }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(!sink.hasWaiter)
        let already = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await sink.wait { Int?.none }
        }
        await #expect(throws: CancellationError.self) { try await already.value }
    }

    @Test func twoConcurrentWaitersStopWithAClearMessage() async {
        await #expect(processExitsWith: .failure) {
            let sink = WakeSink()
            let first = Task { try await sink.wait { Int?.none } }
            await waitUntil { sink.hasWaiter }
            _ = try? await sink.wait { Int?.none }
            _ = await first.result
        }
    }

    /// diatomic-waker's README example: an MPSC counter made async with a WakeSink; many
    /// plain threads produce tokens, one task consumes them all, no wake-up is lost.
    @Test func manyNotifiersNoLostWakeup() async throws {
        let sink = WakeSink()
        let tokens = Counter()
        let producers = 4
        let perProducer = 2_000 * stressFactor
        let source = sink.source()
        let threads = (0..<producers).map { _ in
            PlainThread {
                for _ in 0..<perProducer {
                    tokens.add(1)
                    source.notify()
                }
            }
        }
        var consumed = 0
        while consumed < producers * perProducer {
            consumed += try await sink.wait {
                let n = tokens.exchange(0)
                return n > 0 ? n : nil
            }
        }
        #expect(consumed == producers * perProducer)
        for thread in threads { await thread.join() }
    }
}

import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import Hatch

/// A WakeSink's waits and notifications: spurious wakes, re-registration, cancellation,
/// the single-consumer check, and many notifiers at once.
@Suite("WakeSink", .stressTimeLimit)
struct WakeSinkTests {
    /// A spurious notification followed at once by the real one, racing with the waiter's
    /// re-registration: the spurious wake does not end the wait, and the real notification
    /// is not lost whether it finds the new registration or the re-check sees its change.
    @Test(.heavyStress) func waitUntilWithASpuriousNotificationFirst() async throws {
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

    /// Within one `wait(until:)` call, step by step: a spurious notification wakes the first
    /// registration, the call re-checks and registers a new continuation, and the next
    /// notification, sent only once that new registration is in the sink, wakes it. Each
    /// step is a handshake between a plain thread and the waiting task: the predicate counts
    /// its calls, and apart from those, the calls that find the task registered in the sink
    /// and the flag down (the check after each registration). After such a call the task
    /// stays registered until a notification takes that registration and resumes it: it
    /// unregisters itself only when its predicate holds.
    @Test(.heavyStress) func notificationAfterASpuriousWakeWakesTheNewRegistration() async throws {
        for _ in 0..<(20 * stressFactor) {
            let sink = WakeSink()
            let source = sink.source()
            let flag = Counter()
            let checks = Counter()
            let registeredChecks = Counter()
            let finished = Counter()
            let waiting = Task {
                try await sink.wait {
                    checks.add()
                    let ready = flag.value == 1
                    if !ready && sink.hasWaiter { registeredChecks.add() }
                    return ready ? () : nil
                }
                finished.store(1)
            }
            let notifier = PlainThread {
                spinUntil("the first registration") { registeredChecks.value == 1 }
                source.notify()  // spurious: wakes the first registration, the flag is down
                spinUntil("a new registration after the spurious wake") { registeredChecks.value == 2 }
                flag.store(1)
                source.notify()
            }
            await notifier.join()
            guard
                await finishesOrReportsALostWakeup(
                    sink: sink, finished: finished, progress: checks, predicateHolds: { flag.value == 1 })
            else { return }
            try await waiting.value
            #expect(registeredChecks.value == 2, "the second registration was woken, no third one was made")
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

    /// An MPSC counter made async with a WakeSink: many plain threads produce tokens, one
    /// task consumes them all. Once every producer is joined, the consumer must finish; a
    /// lost notification, which would leave it suspended with tokens waiting, fails the test
    /// instead of hanging it.
    @Test(.heavyStress) func manyNotifiersNoLostWakeup() async throws {
        let sink = WakeSink()
        let tokens = Counter()
        let checks = Counter()
        let finished = Counter()
        let producers = 4
        let perProducer = 2_000 * stressFactor
        let source = sink.source()
        let consumer = Task {
            var consumed = 0
            while consumed < producers * perProducer {
                consumed += try await sink.wait {
                    checks.add()
                    let n = tokens.exchange(0)
                    return n > 0 ? n : nil
                }
            }
            finished.store(1)
            return consumed
        }
        let threads = (0..<producers).map { _ in
            PlainThread {
                for _ in 0..<perProducer {
                    tokens.add(1)
                    source.notify()
                }
            }
        }
        for thread in threads { await thread.join() }
        guard
            await finishesOrReportsALostWakeup(
                sink: sink, finished: finished, progress: checks, predicateHolds: { tokens.value > 0 })
        else { return }
        let consumed = try await consumer.value
        #expect(consumed == producers * perProducer)
    }
}

/// Yields until a consumer waiting on `sink` reports `finished`, once every notification it
/// needs has been sent. A lost notification leaves the consumer suspended for ever, still
/// registered in the sink (the notifier missed it) or taken out but never resumed; a
/// consumer that is merely slow makes progress (its predicate calls, counted by `progress`)
/// within a few rounds. So if `progress` stays put for a very large number of rounds while
/// the consumer has not finished, this records an issue saying which state it is in, and
/// returns false instead of waiting for ever (the consumer task is left suspended).
private func finishesOrReportsALostWakeup(
    sink: WakeSink, finished: Counter, progress: Counter, predicateHolds: () -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async -> Bool {
    let stuckRounds = 1_000_000
    var last = progress.value
    var still = 0
    while finished.value == 0 {
        let now = progress.value
        if now != last {
            last = now
            still = 0
        } else {
            still += 1
        }
        if still == stuckRounds {
            let state =
                sink.hasWaiter
                ? "is still registered in the sink" : "was taken out of the sink but never resumed"
            let holds = predicateHolds()
            Issue.record(
                """
                \(holds ? "lost wake-up" : "stuck consumer"): after the last notification, the consumer \
                \(state) and its predicate \(holds ? "would now return a value" : "still returns nil") \
                (\(now) predicate calls, none in \(stuckRounds) rounds)
                """,
                sourceLocation: sourceLocation)
            return false
        }
        await Task.yield()
        if still % 64 == 0 { sched_yield() }  // the consumer may be waiting for this CPU
    }
    return true
}

import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels
@testable import EventLoop

extension Dispatcher {
    /// Timers in the heap that are neither fired nor cancelled (read on the loop thread).
    var armedTimers: Int {
        get async {
            await withCheckedContinuation { continuation in
                execute { [self] in
                    continuation.resume(returning: timers.count - cancelledTimers.load(ordering: .relaxed))
                }
            }
        }
    }
}

/// Receives and bounded sends with a timeout or a deadline, for tasks and plain threads: a
/// ready operation arms nothing, a timeout is told apart from a close and a cancellation,
/// and a timed-out wait takes nothing.
@Suite("Timeouts", .stressTimeLimit)
struct TimeoutTests {
    @Test func aReadyElementIsReturnedAtOnce() async throws {
        let channel = AsyncChannel<Int>()
        try channel.send(1)
        try channel.send(2)
        #expect(try await channel.receive(timeout: .zero) == 1)
        #expect(try channel.receiveSync(timeout: .zero) == 2)
        let bounded = try BoundedAsyncChannel<Int>(capacity: 2)
        try await bounded.send(3, timeout: .zero)
        try bounded.sendSync(4, timeout: .zero)
        #expect(try await bounded.receive(timeout: .zero) == 3)
        #expect(try bounded.receiveSync(timeout: .zero) == 4)
    }

    @Test func anEmptyChannelTimesOutAndALaterElementStays() async throws {
        let channel = AsyncChannel<Int>()
        await #expect(throws: ChannelError.timedOut) { try await channel.receive(timeout: .milliseconds(5)) }
        await #expect(throws: ChannelError.timedOut) {
            try await channel.receive(deadline: .now + .milliseconds(5))
        }
        #expect(throws: ChannelError.timedOut) { try channel.receiveSync(timeout: .milliseconds(5)) }
        try channel.send(7)
        #expect(channel.tryReceive() == 7, "nothing was waiting any more: the element stayed")
        let bounded = try BoundedAsyncChannel<Int>(capacity: 1)
        await #expect(throws: ChannelError.timedOut) { try await bounded.receive(timeout: .milliseconds(5)) }
        #expect(throws: ChannelError.timedOut) { try bounded.receiveSync(timeout: .milliseconds(5)) }
        #expect(bounded.count == 0)
    }

    @Test func aTimeoutIsToldApartFromACloseAndACancellation() async throws {
        let channel = AsyncChannel<Int>()
        let cancelled = Task { try await channel.receive(timeout: .seconds(3600)) }
        await waitUntil("the receiver to wait") { channel.waitingReceivers == 1 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        let closed = Task { try await channel.receive(timeout: .seconds(3600)) }
        await waitUntil("the receiver to wait") { channel.waitingReceivers == 1 }
        channel.close()
        await #expect(throws: ChannelError.closed) { try await closed.value }
        await #expect(throws: ChannelError.closed) { try await channel.receive(timeout: .seconds(1)) }
    }

    @Test func aFullBoundedChannelTimesOutASendAndHandsTheElementBack() async throws {
        let channel = try BoundedAsyncChannel<String>(capacity: 1)
        try channel.trySend("a")
        do {
            try await channel.send("b", timeout: .milliseconds(5))
            Issue.record("the send went through a full channel")
        } catch let error as ChannelSendError<String> {
            #expect(error.reason == .timedOut)
            #expect(error.element == "b")
        }
        do {
            try channel.sendSync("c", timeout: .milliseconds(5))
            Issue.record("the send went through a full channel")
        } catch {
            #expect(error.reason == .timedOut)
            #expect(error.element == "c")
        }
        #expect(channel.count == 1 && channel.waitingSenders == 0, "the channel is as it was")
        #expect(channel.tryReceive() == "a")
        // Room before the deadline: the send completes.
        let sender = Task { try await channel.send("d", deadline: .now + .seconds(3600)) }
        try channel.trySend("x")
        await waitUntil("the sender to wait") { channel.waitingSenders == 1 }
        #expect(channel.tryReceive() == "x")
        try await sender.value
        #expect(channel.tryReceive() == "d")
    }

    /// A wait satisfied before its timeout cancels its timer: the loop has none armed after.
    @Test func aSatisfiedWaitLeavesNoTimerArmed() async throws {
        let loop = try LoopThread(name: "timeouts")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let channel = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 1)
        try bounded.trySend(0)
        let receiver = Task(executorPreference: dispatcher) { try await channel.receive(timeout: .seconds(3600)) }
        let sender = Task(executorPreference: dispatcher) { try await bounded.send(1, timeout: .seconds(3600)) }
        await waitUntil("both to wait") { channel.waitingReceivers == 1 && bounded.waitingSenders == 1 }
        #expect(await dispatcher.armedTimers == 2, "each wait armed one timer on its own loop")
        try channel.send(5)
        #expect(bounded.tryReceive() == 0)
        #expect(try await receiver.value == 5)
        try await sender.value
        #expect(await dispatcher.armedTimers == 0)
    }

    @Test func blockingReceivesAndSendsOnALoopThreadRefuseToWait() async throws {
        let loop = try LoopThread(name: "no-blocking")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 1)
        try bounded.trySend(1)
        let outcomes = await Task(executorPreference: loop.dispatcher) { () -> [ChannelError?] in
            var outcomes: [ChannelError?] = []
            do throws(ChannelError) {
                _ = try channel.receiveSync(timeout: .seconds(10))
            } catch {
                outcomes.append(error)
            }
            do throws(ChannelSendError<Int>) {
                try bounded.sendSync(2, timeout: .seconds(10))
            } catch {
                outcomes.append(error.reason)
            }
            return outcomes
        }.value
        #expect(outcomes == [.wouldBlockLoop, .wouldBlockLoop])
    }

    @Test func aBlockedThreadIsWokenByAnElementBeforeItsTimeout() async throws {
        let channel = AsyncChannel<Int>()
        let got = LockedValue<Int?>(nil)
        let thread = PlainThread { got.withLock { $0 = try? channel.receiveSync(timeout: .seconds(3600)) } }
        await waitUntil("the thread to wait") { channel.waitingReceivers == 1 }
        try channel.send(9)
        await thread.join()
        #expect(got.withLock { $0 } == 9)
    }

    /// Producers on plain threads and tasks send while consumers on a loop, the global
    /// executor and a plain thread receive with short timeouts, and some waits are
    /// cancelled: every element is received exactly once or left in the channel.
    @Test(.heavyStress) func timeoutsRacingSendsLoseAndDuplicateNothing() async throws {
        let loop = try LoopThread(name: "timeout-race")
        defer { loop.shutdown() }
        let perProducer = 2_000 * stressFactor
        let producers = 2
        let total = perProducer * producers
        let channel = AsyncChannel<Int>()
        let received = Collector<Int>()
        let sent = Counter()
        let timedOut = Counter()
        let producerThread = PlainThread {
            for i in 0..<perProducer {
                try? channel.send(i)
                sent.add()
                if i % 4 == 0 { sched_yield() }  // gaps in which waits time out
            }
        }
        let producerTask = Task.detached {
            for i in perProducer..<total {
                try? channel.send(i)
                sent.add()
                if i % 64 == 0 { await Task.yield() }
            }
        }
        @Sendable func consume(_ seed: UInt64) async {
            var rng = SeededRandom(seed: seed)
            while sent.value < total || channel.count > 0 {
                let timeout = Duration.microseconds(Int64(rng.next() % 50))
                if rng.oneIn(16) {
                    let child = Task { try await channel.receive(timeout: timeout) }
                    child.cancel()
                    if let element = try? await child.value { received.append(element) }
                } else {
                    do {
                        received.append(try await channel.receive(timeout: timeout))
                    } catch {
                        timedOut.add()
                    }
                }
            }
            // Everything is sent and taken: this wait can only time out.
            if (try? await channel.receive(timeout: .milliseconds(1))) == nil { timedOut.add() }
        }
        let onLoop = Task(executorPreference: loop.dispatcher) { await consume(1) }
        let onGlobal = Task.detached { await consume(2) }
        let onThread = PlainThread {
            var rng = SeededRandom(seed: 3)
            while sent.value < total || channel.count > 0 {
                let timeout = Duration.microseconds(Int64(rng.next() % 50))
                do {
                    received.append(try channel.receiveSync(timeout: timeout))
                } catch {
                    timedOut.add()
                }
            }
            if (try? channel.receiveSync(timeout: .milliseconds(1))) == nil { timedOut.add() }
        }
        await producerThread.join()
        await producerTask.value
        await onLoop.value
        await onGlobal.value
        await onThread.join()
        var all = received.all
        while let element = channel.tryReceive() { all.append(element) }
        #expect(all.count == total, "received or left: \(all.count) of \(total)")
        #expect(Set(all).count == all.count, "no element twice")
        #expect(channel.waitingReceivers == 0)
        #expect(timedOut.value >= 3, "each consumer's last wait timed out (\(timedOut.value) in all)")
    }
}

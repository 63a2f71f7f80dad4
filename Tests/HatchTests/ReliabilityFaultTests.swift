import EventLoop
import Hatch
import LoopTestSupport
import Testing

/// Waiters of hatch, multishot and WakeSink are not tied to a loop: a task that prefers a
/// loop which shuts down while it waits is still resumed (on the loop's fallback queue).
@Suite("Reliability: hatch primitives on a dead loop", .stressTimeLimit)
struct ReliabilityHatchDeadLoopTests {
    @Test func waitersOnADeadLoopAreResumed() async throws {
        let loop = try LoopThread(name: "dies")
        let dispatcher = loop.dispatcher
        let (sender, receiver) = makeHatch(of: Int.self)
        let (fullSender, fullReceiver) = makeHatch(of: Int.self)
        try fullSender.trySend(0)
        let multishot = MultishotReceiver<Int>()
        let multishotSender = try #require(multishot.sender())
        let sink = WakeSink()
        let flag = Counter()

        let receive = Task(executorPreference: dispatcher) { try await receiver.receive() }
        let send = Task(executorPreference: dispatcher) { try await fullSender.send(1) }
        let multishotReceive = Task(executorPreference: dispatcher) { try await multishot.receive() }
        let wait = Task(executorPreference: dispatcher) { try await sink.wait { flag.value == 1 ? 1 : nil } }
        await waitUntil("all four wait") {
            receiver.hasSuspendedReceive && fullSender.hasSuspendedSend && multishot.isWaiting && sink.hasWaiter
        }
        loop.shutdown()
        #expect(dispatcher.isShutDown)

        try sender.trySend(42)
        #expect(try await receive.value == 42)
        #expect(try fullReceiver.tryReceive() == 0)
        try await send.value
        #expect(try fullReceiver.tryReceive() == 1)
        multishotSender.send(7)
        #expect(try await multishotReceive.value == 7)
        flag.store(1)
        sink.source().notify()
        #expect(try await wait.value == 1)
    }

    @Test func cancellationAndCloseStillReachWaitersOnADeadLoop() async throws {
        let loop = try LoopThread(name: "dies")
        let dispatcher = loop.dispatcher
        let (sender, receiver) = makeHatch(of: Int.self)
        let (otherSender, otherReceiver) = makeHatch(of: Int.self)
        let cancelled = Task(executorPreference: dispatcher) { try await otherReceiver.receive() }
        let closed = Task(executorPreference: dispatcher) { try await receiver.receive() }
        await waitUntil { otherReceiver.hasSuspendedReceive && receiver.hasSuspendedReceive }
        loop.shutdown()
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(!otherSender.isClosed)
        sender.close()
        await #expect(throws: HatchClosedError.closed) { try await closed.value }
    }
}

/// Bad input to the Hatch module: use after close, stale endpoints, repeated sends, waits
/// in cancelled tasks — each answers with its documented error or result.
@Suite("Reliability: hatch bad input", .stressTimeLimit)
struct ReliabilityHatchInputTests {
    @Test func everyHatchCallAfterEitherSideClosed() async throws {
        for closeSender in [false, true] {
            let live = Counter()
            let (sender, receiver) = makeHatch(of: Tracked.self)
            if closeSender { sender.close() } else { receiver.close() }
            #expect(sender.isClosed && receiver.isClosed)
            do throws(HatchSendError<Tracked>) {
                try sender.trySend(Tracked(1, live: live))
                Issue.record("trySend after close succeeded")
            } catch {
                guard case .closed(let back) = error else { throw error }
                #expect(back.id == 1)
            }
            do throws(HatchSendError<Tracked>) {
                try await sender.send(Tracked(2, live: live))
                Issue.record("send after close succeeded")
            } catch {
                guard case .closed(let back) = error else { throw error }
                #expect(back.id == 2)
            }
            await #expect(throws: HatchClosedError.closed) { try await sender.waitForReceiver() }
            #expect(throws: HatchClosedError.closed) { try receiver.tryReceive() }
            await #expect(throws: HatchClosedError.closed) { try await receiver.receive() }
            // Recovery: only the side that is still open may recover the closed one.
            if closeSender {
                #expect(throws: HatchRecoverError.closed) { try sender.recover() }
                let newSender = try receiver.recover()
                try newSender.trySend(Tracked(3, live: live))
                #expect(try receiver.tryReceive()?.id == 3)
            } else {
                #expect(throws: HatchRecoverError.closed) { try receiver.recover() }
                let newReceiver = try sender.recover()
                try sender.trySend(Tracked(3, live: live))
                #expect(try newReceiver.tryReceive()?.id == 3)
            }
            sender.close()
            sender.close()
            receiver.close()
            #expect(live.value == 0)
        }
    }

    @Test func staleEndpointsFailAsClosedAndCannotDisturbTheNewPair() async throws {
        let (oldSender, receiver) = makeHatch(of: Int.self)
        oldSender.close()
        let sender = try receiver.recover()
        #expect(oldSender.isClosed && !sender.isClosed)
        #expect(throws: HatchSendError<Int>.closed(1)) { try oldSender.trySend(1) }
        await #expect(throws: HatchClosedError.closed) { try await oldSender.waitForReceiver() }
        #expect(throws: HatchRecoverError.closed) { try oldSender.recover() }
        oldSender.close()  // a stale close does not touch the new sender
        try sender.trySend(5)
        #expect(try receiver.tryReceive() == 5)
        #expect(throws: HatchRecoverError.live) { try receiver.recover() }
    }

    @Test func hatchWaitsInCancelledTasks() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let receive = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive()
        }
        await #expect(throws: CancellationError.self) { try await receive.value }
        let lazy = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await sender.waitForReceiver()
        }
        await #expect(throws: CancellationError.self) { try await lazy.value }
        try sender.trySend(1)
        let send = Task { () -> Int? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(HatchSendError<Int>) {
                try await sender.send(2)
                return nil
            } catch {
                guard case .cancelled(let back) = error else { return nil }
                return back
            }
        }
        #expect(await send.value == 2, "a cancelled send on a full hatch hands the value back as .cancelled")
        #expect(try receiver.tryReceive() == 1)
        #expect(!sender.isClosed && !receiver.isClosed, "cancellation closes nothing")
    }

    @Test func multishotMisuseAnswersClearly() async throws {
        let live = Counter()
        let receiver = MultishotReceiver<Tracked>()
        await #expect(throws: HatchClosedError.closed) { try await receiver.receive() }  // no sender yet
        let sender = try #require(receiver.sender())
        #expect(receiver.sender() == nil, "no second sender while one is live and unsent")
        #expect(sender.send(Tracked(1, live: live)))
        #expect(!sender.send(Tracked(2, live: live)), "a second send does not deliver")
        #expect(try await receiver.receive().id == 1)
        await #expect(throws: HatchClosedError.closed) { try await receiver.receive() }  // round over
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive()
        }
        await #expect(throws: HatchClosedError.closed) { try await cancelled.value }
        let next = try #require(receiver.sender())
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive()
        }
        await #expect(throws: CancellationError.self) { try await waiting.value }
        // A sender that outlives its receiver: send reports false and releases the value.
        var orphan: MultishotSender<Tracked>? = nil
        do {
            let other = MultishotReceiver<Tracked>()
            orphan = other.sender()
        }
        #expect(orphan?.send(Tracked(3, live: live)) == false)
        #expect(next.send(Tracked(4, live: live)))
        _ = receiver.sender()  // a new round discards the unreceived value
        #expect(live.value == 0)
    }

    @Test func wakeSinkInCancelledTasksAndWithoutWaiters() async throws {
        let sink = WakeSink()
        sink.source().notify()  // no waiter: nothing happens
        sink.source().notify()
        let cancelledNotReady = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await sink.wait { () -> Int? in nil }
        }
        await #expect(throws: CancellationError.self) { try await cancelledNotReady.value }
        let cancelledReady = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await sink.wait { () -> Int? in 9 }
        }
        #expect(try await cancelledReady.value == 9, "a ready value is returned even after cancellation")
        #expect(!sink.hasWaiter)
    }
}

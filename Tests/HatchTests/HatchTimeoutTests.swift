import LoopTestSupport
import LoopUtilities
import Testing

@testable import EventLoop
@testable import Hatch

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

/// The hatch's and multishot's waits with a timeout or a deadline, for tasks and plain
/// threads: a ready operation arms nothing, a timeout is told apart from a close and a
/// cancellation, a timed-out receive takes nothing and a timed-out send hands its value back.
@Suite("Hatch timeouts", .stressTimeLimit)
struct HatchTimeoutTests {
    static let long = Duration.seconds(3600)
    static let short = Duration.milliseconds(5)

    @Test func aReadyValueIsReturnedAtOnce() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        try sender.trySend(1)
        #expect(try await receiver.receive(timeout: .zero) == 1)
        try sender.trySend(2)
        #expect(try receiver.receiveSync(timeout: .zero) == 2)
        try sender.trySend(3)
        #expect(try await receiver.receive(deadline: .now - .seconds(1)) == 3)
        try await sender.send(4, timeout: .zero)  // room: sends at once
        #expect(try receiver.tryReceive() == 4)
        try await sender.send(5, deadline: .now)
        #expect(try receiver.tryReceive() == 5)
        try sender.sendSync(6, timeout: .zero)
        #expect(try receiver.tryReceive() == 6)

        let multishot = MultishotReceiver<String>()
        #expect(multishot.sender()!.send("a"))
        #expect(try await multishot.receive(timeout: .zero) == "a")
        #expect(multishot.sender()!.send("b"))
        #expect(try multishot.receiveSync(timeout: .zero) == "b")
        #expect(multishot.sender()!.send("c"))
        #expect(try await multishot.receive(deadline: .now) == "c")
    }

    @Test func aValueArrivingBeforeTheTimeoutIsReceived() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let timed = Task { try await receiver.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { receiver.hasSuspendedReceive }
        try sender.trySend(7)
        #expect(try await timed.value == 7)
        let byDeadline = Task { try await receiver.receive(deadline: .now + Self.long) }
        await waitUntil("the receive to wait") { receiver.hasSuspendedReceive }
        try sender.trySend(8)
        #expect(try await byDeadline.value == 8)

        let multishot = MultishotReceiver<Int>()
        let roundSender = multishot.sender()!
        let waiting = Task { try await multishot.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { multishot.isWaiting }
        #expect(roundSender.send(9))
        #expect(try await waiting.value == 9)
    }

    @Test func anEmptyHatchTimesOutAndALaterValueStays() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        await #expect(throws: HatchWaitError.timedOut) { try await receiver.receive(timeout: Self.short) }
        await #expect(throws: HatchWaitError.timedOut) { try await receiver.receive(deadline: .now + Self.short) }
        #expect(throws: HatchWaitError.timedOut) { try receiver.receiveSync(timeout: Self.short) }
        await #expect(throws: HatchWaitError.timedOut) { try await receiver.receive(timeout: .zero) }
        #expect(!receiver.hasSuspendedReceive, "no waiter is left behind")
        try sender.trySend(10)
        #expect(try receiver.tryReceive() == 10, "nothing was waiting any more: the value stayed")
        #expect(!receiver.isClosed)

        let multishot = MultishotReceiver<Int>()
        let roundSender = multishot.sender()!
        await #expect(throws: HatchWaitError.timedOut) { try await multishot.receive(timeout: Self.short) }
        #expect(throws: HatchWaitError.timedOut) { try multishot.receiveSync(timeout: Self.short) }
        await #expect(throws: HatchWaitError.timedOut) { try await multishot.receive(deadline: .now) }
        #expect(!multishot.isWaiting)
        #expect(roundSender.send(11), "the round stayed open")
        #expect(try await multishot.receive() == 11)
    }

    @Test func aFullHatchTimesOutASendAndHandsTheValueBack() async throws {
        let (sender, receiver) = makeHatch(of: String.self)
        try sender.trySend("a")
        await #expect(throws: HatchSendError.timedOut("b")) { try await sender.send("b", timeout: Self.short) }
        await #expect(throws: HatchSendError.timedOut("c")) {
            try await sender.send("c", deadline: .now + Self.short)
        }
        #expect(throws: HatchSendError.timedOut("d")) { try sender.sendSync("d", timeout: Self.short) }
        await #expect(throws: HatchSendError.timedOut("e")) { try await sender.send("e", timeout: .zero) }
        #expect(!sender.hasSuspendedSend && !sender.isClosed, "the hatch is as it was")
        #expect(try receiver.tryReceive() == "a")
        // Room before the deadline: the send completes.
        try sender.trySend("x")
        let waiting = Task { try await sender.send("f", deadline: .now + Self.long) }
        await waitUntil("the send to wait") { sender.hasSuspendedSend }
        #expect(try receiver.tryReceive() == "x")
        try await waiting.value
        #expect(try receiver.tryReceive() == "f")
        #expect(HatchSendError.timedOut("g").value == "g")
    }

    @Test func aTimeoutIsToldApartFromACloseAndACancellation() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let cancelled = Task { try await receiver.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { receiver.hasSuspendedReceive }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        // Already cancelled before it waits: the same error, and nothing taken.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive(timeout: Self.long)
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        try sender.trySend(1)
        #expect(try await receiver.receive(timeout: Self.long) == 1, "cancellation closed nothing")

        // A send cancelled while it waits hands its value back as cancelled, not timed out.
        try sender.trySend(2)
        let cancelledSend = Task { try await sender.send(3, timeout: Self.long) }
        await waitUntil("the send to wait") { sender.hasSuspendedSend }
        cancelledSend.cancel()
        await #expect(throws: HatchSendError.cancelled(3)) { try await cancelledSend.value }
        // A close while a send waits: closed, with the value.
        let closedSend = Task { try await sender.send(4, timeout: Self.long) }
        await waitUntil("the send to wait") { sender.hasSuspendedSend }
        receiver.close()
        await #expect(throws: HatchSendError.closed(4)) { try await closedSend.value }

        let (sender2, receiver2) = makeHatch(of: Int.self)
        let closed = Task { try await receiver2.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { receiver2.hasSuspendedReceive }
        sender2.close()
        await #expect(throws: HatchClosedError.closed) { try await closed.value }
        await #expect(throws: HatchClosedError.closed) { try await receiver2.receive(timeout: Self.short) }
        #expect(throws: HatchClosedError.closed) { try receiver2.receiveSync(timeout: Self.short) }

        let multishot = MultishotReceiver<Int>()
        var roundSender = multishot.sender()
        let cancelledRound = Task { try await multishot.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { multishot.isWaiting }
        cancelledRound.cancel()
        await #expect(throws: CancellationError.self) { try await cancelledRound.value }
        let droppedRound = Task { try await multishot.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { multishot.isWaiting }
        roundSender = nil  // released without sending: the round ends as closed
        await #expect(throws: HatchClosedError.closed) { try await droppedRound.value }
        _ = roundSender
    }

    /// A wait satisfied before its timeout removes its timer: the loop has none armed after.
    @Test func aSatisfiedWaitLeavesNoTimerArmed() async throws {
        let loop = try LoopThread(name: "hatch-timeouts")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let (sender, receiver) = makeHatch(of: Int.self)
        let (fullSender, fullReceiver) = makeHatch(of: Int.self)
        try fullSender.trySend(0)
        let multishot = MultishotReceiver<Int>()
        let roundSender = multishot.sender()!
        let receive = Task(executorPreference: dispatcher) { try await receiver.receive(timeout: Self.long) }
        let send = Task(executorPreference: dispatcher) { try await fullSender.send(1, timeout: Self.long) }
        let round = Task(executorPreference: dispatcher) { try await multishot.receive(deadline: .now + Self.long) }
        await waitUntil("the three waits") {
            receiver.hasSuspendedReceive && fullSender.hasSuspendedSend && multishot.isWaiting
        }
        #expect(await dispatcher.armedTimers == 3, "each wait armed one timer on its own loop")
        try sender.trySend(5)
        #expect(try fullReceiver.tryReceive() == 0)
        #expect(roundSender.send(6))
        #expect(try await receive.value == 5)
        try await send.value
        #expect(try await round.value == 6)
        #expect(await dispatcher.armedTimers == 0)
        // Cancelled and timed-out waits leave none either.
        let cancelled = Task(executorPreference: dispatcher) { try await receiver.receive(timeout: Self.long) }
        await waitUntil("the receive to wait") { receiver.hasSuspendedReceive }
        cancelled.cancel()
        _ = await cancelled.result
        let timedOut = Task(executorPreference: dispatcher) { try await receiver.receive(timeout: Self.short) }
        _ = await timedOut.result
        #expect(await dispatcher.armedTimers == 0)
        #expect(try fullReceiver.tryReceive() == 1)
    }
}

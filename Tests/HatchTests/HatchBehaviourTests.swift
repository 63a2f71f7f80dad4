import LoopTestSupport
import Testing

@testable import Hatch

/// async-hatch's own test suite (tests/tests.rs), expressed in Swift. "Pending" futures
/// become tasks that we observe suspended; "dropped" endpoints are released (the last
/// reference) or closed.
@Suite("Hatch behaviour (async-hatch suite)", .stressTimeLimit)
struct HatchBehaviourTests {
    static let rounds = 200

    @Test func sendNowFull() throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            #expect(try s.trySend(42) == nil)
            #expect(throws: HatchSendError.full(420)) { try s.trySend(420) }
            #expect(try r.tryReceive() == 42)
            #expect(try s.trySend(420) == nil)
            #expect(try r.tryReceive() == 420)
        }
    }

    @Test func sendFullWaitsForRoom() async throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            try s.trySend(42)
            let sending = Task { try await s.send(420) }
            await waitUntil("send suspended") { s.hasSuspendedSend }
            #expect(try r.tryReceive() == 42)
            try await sending.value
            #expect(try r.tryReceive() == 420)
        }
    }

    @Test func sendNowAfterReceiverReleased() {
        let s = makeHatch(of: Int.self).sender  // the receiver is released here
        #expect(s.isClosed)
        #expect(throws: HatchSendError.closed(42)) { try s.trySend(42) }
    }

    @Test func sendAfterReceiverReleased() async {
        let s = makeHatch(of: Int.self).sender
        await #expect(throws: HatchSendError.closed(42)) { try await s.send(42) }
    }

    @Test func sendNowAfterReceiverClosedOnReceive() throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            try s.trySend(42)
            r.closesOnReceive = true
            #expect(try r.tryReceive() == 42)
            #expect(r.isClosed && s.isClosed)
            #expect(throws: HatchSendError.closed(42)) { try s.trySend(42) }
        }
    }

    @Test func sendAfterReceiverClosedOnReceive() async throws {
        let (s, r) = makeHatch(of: Int.self)
        try s.trySend(42)
        r.closesOnReceive = true
        #expect(try r.tryReceive() == 42)
        await #expect(throws: HatchSendError.closed(420)) { try await s.send(420) }
    }

    @Test func asyncSendWaitsEvenWhenOverwriting() async throws {
        let (s, r) = makeHatch(of: Int.self)
        try s.trySend(42)
        s.overwrites = true
        let sending = Task { try await s.send(420) }
        await waitUntil { s.hasSuspendedSend }
        #expect(try r.tryReceive() == 42)
        try await sending.value
        #expect(try r.tryReceive() == 420)
    }

    @Test func sendNowOverwriteReturnsReplacedValue() throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            #expect(try s.trySend(42) == nil)
            s.overwrites = true
            #expect(try s.trySend(420) == 42)
            #expect(try r.tryReceive() == 420)
            #expect(try r.tryReceive() == nil)
        }
    }

    @Test func sendNowOverwriteThenReceiveDoesNotSuspend() async throws {
        let (s, r) = makeHatch(of: Int.self)
        try s.trySend(42)
        s.overwrites = true
        #expect(try s.trySend(420) == 42)
        #expect(try await r.receive() == 420)
    }

    @Test func receiveNowThenSendNow() throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            #expect(try r.tryReceive() == nil)
            #expect(try r.tryReceive() == nil)
            #expect(try s.trySend(42) == nil)
            #expect(try r.tryReceive() == 42)
        }
    }

    @Test func suspendedReceiveGetsSendNow() async throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            let receiving = Task { try await r.receive() }
            await waitUntil { r.hasSuspendedReceive }
            #expect(try s.trySend(42) == nil)
            #expect(try await receiving.value == 42)
            #expect(!r.hasSuspendedReceive)
            // And a value already there is received without suspending.
            try s.trySend(420)
            #expect(try await r.receive() == 420)
        }
    }

    @Test func receiveNowThenAsyncSend() async throws {
        let (s, r) = makeHatch(of: Int.self)
        #expect(try r.tryReceive() == nil)
        try await s.send(42)
        #expect(try r.tryReceive() == 42)
    }

    @Test func suspendedReceiveAndQueuedSend() async throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            let receiving = Task { try await r.receive() }
            await waitUntil { r.hasSuspendedReceive }
            try await s.send(42)  // the first completes at once (hand-off)
            #expect(try await receiving.value == 42)
            try s.trySend(0)  // fill the slot so that the next send has to wait
            let sending = Task { try await s.send(420) }
            await waitUntil { s.hasSuspendedSend }
            #expect(try await r.receive() == 0)
            try await sending.value
            #expect(try await r.receive() == 420)
        }
    }

    @Test func receiveNowWithSenderReleased() {
        let r = makeHatch(of: Int.self).receiver
        #expect(throws: HatchClosedError.closed) { try r.tryReceive() }
    }

    @Test func receiveWithSenderReleasedAfterAHandOff() async throws {
        var s: HatchSender<Int>?
        let r: HatchReceiver<Int>
        do {
            let pair = makeHatch(of: Int.self)
            s = pair.sender
            r = pair.receiver
        }
        let receiving = Task { try await r.receive() }
        await waitUntil { r.hasSuspendedReceive }
        try s!.trySend(42)
        #expect(try await receiving.value == 42)
        s = nil
        await #expect(throws: HatchClosedError.closed) { try await r.receive() }
    }

    @Test func valueSentBeforeSenderLeftStillArrives() async throws {
        for _ in 0..<Self.rounds {
            var s: HatchSender<Int>?
            let r: HatchReceiver<Int>
            do {
                let pair = makeHatch(of: Int.self)
                s = pair.sender
                r = pair.receiver
            }
            try s!.trySend(42)
            s = nil
            #expect(r.isClosed)
            #expect(try r.tryReceive() == 42)
            #expect(throws: HatchClosedError.closed) { try r.tryReceive() }
        }
        // The same through the async receive.
        let r = { () -> HatchReceiver<Int> in
            let (s, r) = makeHatch(of: Int.self)
            try! s.trySend(7)
            return r
        }()
        #expect(try await r.receive() == 7)
        await #expect(throws: HatchClosedError.closed) { try await r.receive() }
    }

    @Test func closeOnSendWithSuspendedReceive() async throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            let receiving = Task { try await r.receive() }
            await waitUntil { r.hasSuspendedReceive }
            s.closesOnSend = true
            #expect(try s.trySend(42) == nil)
            #expect(s.isClosed)
            #expect(try await receiving.value == 42)
            await #expect(throws: HatchClosedError.closed) { try await r.receive() }
            #expect(throws: HatchClosedError.closed) { try r.tryReceive() }
        }
    }

    @Test func closeOnSendThenReceiveNow() throws {
        let (s, r) = makeHatch(of: Int.self)
        #expect(try r.tryReceive() == nil)
        s.closesOnSend = true
        try s.trySend(42)
        #expect(try r.tryReceive() == 42)
        #expect(throws: HatchClosedError.closed) { try r.tryReceive() }
    }

    @Test func receiveEmptyWithSenderClosedAndReleased() async {
        let (s, r) = makeHatch(of: Int.self)
        s.close()
        #expect(throws: HatchClosedError.closed) { try r.tryReceive() }
        await #expect(throws: HatchClosedError.closed) { try await r.receive() }
        let lonely = makeHatch(of: Int.self).receiver
        await #expect(throws: HatchClosedError.closed) { try await lonely.receive() }
    }

    @Test func waitForReceiver() async throws {
        for _ in 0..<Self.rounds {
            let (s, r) = makeHatch(of: Int.self)
            let waiting = Task { try await s.waitForReceiver() }
            await waitUntil { s.hasSuspendedSend }
            let receiving = Task { try await r.receive() }
            try await waiting.value  // the receive woke the lazy sender
            #expect(r.hasSuspendedReceive)
            #expect(try s.trySend(42) == nil)
            #expect(try await receiving.value == 42)
        }
    }

    @Test func waitForReceiverFailsWhenReceiverReleased() async {
        var r: HatchReceiver<Int>?
        let s: HatchSender<Int>
        do {
            let pair = makeHatch(of: Int.self)
            s = pair.sender
            r = pair.receiver
        }
        let waiting = Task { try await s.waitForReceiver() }
        await waitUntil { s.hasSuspendedSend }
        _ = r
        r = nil
        await #expect(throws: HatchClosedError.closed) { try await waiting.value }
    }

    @Test func waitForReceiverFailsWhenReceiverClosesOnReceive() async throws {
        let (s, r) = makeHatch(of: Int.self)
        try s.trySend(42)
        let waiting = Task { try await s.waitForReceiver() }
        await waitUntil { s.hasSuspendedSend }
        r.closesOnReceive = true
        #expect(try r.tryReceive() == 42)
        await #expect(throws: HatchClosedError.closed) { try await waiting.value }
        // Already closed: fails at once.
        await #expect(throws: HatchClosedError.closed) { try await s.waitForReceiver() }
    }

    @Test func oneshotClosesBothSidesAfterOneMessage() async throws {
        let (s, r) = makeOneshot(of: String.self)
        #expect(s.closesOnSend && r.closesOnReceive)
        let receiving = Task { try await r.receive() }
        await waitUntil { r.hasSuspendedReceive }
        try s.trySend("hello")
        #expect(try await receiving.value == "hello")
        #expect(s.isClosed && r.isClosed)
        #expect(throws: HatchSendError.closed("again")) { try s.trySend("again") }
        await #expect(throws: HatchClosedError.closed) { try await r.receive() }
    }

    @Test func explicitCloseWakesEverySuspendedCall() async throws {
        let (s, r) = makeHatch(of: Int.self)
        let receiving = Task { try await r.receive() }
        await waitUntil { r.hasSuspendedReceive }
        r.close()
        await #expect(throws: HatchClosedError.closed) { try await receiving.value }
        #expect(r.isClosed && s.isClosed)

        let (s2, r2) = makeHatch(of: Int.self)
        try s2.trySend(1)
        let sending = Task { try await s2.send(2) }
        await waitUntil { s2.hasSuspendedSend }
        s2.close()
        await #expect(throws: HatchSendError.closed(2)) { try await sending.value }
        #expect(try r2.tryReceive() == 1, "the value sent before close still arrives")
    }

    @Test func receiverCloseDropsUnreceivedValue() throws {
        let live = Counter()
        let (s, r) = makeHatch(of: Tracked.self)
        try s.trySend(Tracked(1, live: live))
        r.close()
        #expect(live.value == 0, "the receiver's close released the value")
        _ = s
    }

    @Test func closeIsIdempotentAndOptionsRoundTrip() {
        let (s, r) = makeHatch(of: Int.self)
        #expect(!s.overwrites && !s.closesOnSend && !r.closesOnReceive)
        s.overwrites = true
        s.closesOnSend = true
        #expect(s.overwrites && s.closesOnSend)
        s.overwrites = false
        #expect(!s.overwrites && s.closesOnSend)
        #expect(!s.isClosed && !r.isClosed)
        s.close()
        s.close()
        r.close()
        #expect(s.isClosed && r.isClosed)
    }

    @Test func errorsCarryValuesAndSayWhatToDo() {
        let full = HatchSendError<Int>.full(1)
        #expect(full.value == 1)
        #expect(HatchSendError<Int>.closed(2).value == 2)
        #expect("\(full)".contains("full"))
        let cancelled = HatchSendError<Int>.cancelled(3)
        #expect(cancelled.value == 3)
        #expect("\(cancelled)".contains("cancelled") && "\(cancelled)".contains("still open"))
        #expect(cancelled != .full(3))
        #expect("\(HatchClosedError.closed)".contains("HatchClosedError.closed"))
        #expect("\(HatchRecoverError.live)".contains("still open"))
    }

    @Test func optionalValuesAreNotConfusedWithEmpty() async throws {
        let (s, r) = makeHatch(of: Int?.self)
        try s.trySend(nil)
        #expect(try r.tryReceive() == .some(nil))
        #expect(try r.tryReceive() == nil)
        let receiving = Task { try await r.receive() }
        await waitUntil { r.hasSuspendedReceive }
        try s.trySend(nil)
        #expect(try await receiving.value == nil)
    }
}

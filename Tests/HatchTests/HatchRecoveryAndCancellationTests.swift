import LoopTestSupport
import Testing

@testable import Hatch

@Suite("Hatch recovery, cancellation and misuse", .stressTimeLimit)
struct HatchRecoveryAndCancellationTests {
    @Test func recoverFromSenderAfterReceiverReleased() async throws {
        let s = makeHatch(of: Int.self).sender
        #expect(throws: HatchSendError.closed(42)) { try s.trySend(42) }
        let r = try s.recover()
        #expect(r.storageID == s.storageID, "same storage, no new hatch allocated")
        #expect(!s.isClosed && !r.isClosed)
        try s.trySend(1)
        #expect(try await r.receive() == 1)
    }

    @Test func recoverFromReceiverAfterSenderReleasedKeepsLeftValue() async throws {
        let r = { () -> HatchReceiver<Int> in
            let (s, r) = makeHatch(of: Int.self)
            try! s.trySend(9)
            return r
        }()
        let s = try r.recover()
        #expect(s.storageID == r.storageID)
        #expect(try r.tryReceive() == 9)
        try s.trySend(10)
        #expect(try await r.receive() == 10)
    }

    @Test func recoverWhilePeerLivesThrowsLive() {
        let (s, r) = makeHatch(of: Int.self)
        #expect(throws: HatchRecoverError.live) { try s.recover() }
        #expect(throws: HatchRecoverError.live) { try r.recover() }
    }

    @Test func recoverFromAClosedEndpointThrowsClosed() {
        let (s, r) = makeHatch(of: Int.self)
        s.close()
        #expect(throws: HatchRecoverError.closed) { try s.recover() }
        r.close()
        #expect(throws: HatchRecoverError.closed) { try r.recover() }
    }

    @Test func staleEndpointReleasedLaterDoesNotDisturbRecoveredPair() async throws {
        var old: HatchReceiver<Int>?
        let s: HatchSender<Int>
        do {
            let pair = makeHatch(of: Int.self)
            s = pair.sender
            old = pair.receiver
        }
        old!.close()  // closed explicitly, but the object lives on
        let fresh = try s.recover()
        #expect(old!.isClosed, "the old receiver is stale")
        #expect(throws: HatchClosedError.closed) { try old!.tryReceive() }
        #expect(throws: HatchRecoverError.closed) { try old!.recover() }
        old!.close()  // a stale close is a no-op
        old = nil  // a stale release is a no-op
        #expect(!fresh.isClosed && !s.isClosed)
        try s.trySend(5)
        #expect(try await fresh.receive() == 5)

        // The same from the other side, twice in a row (epochs keep counting).
        var oldSender: HatchSender<Int>? = s
        oldSender!.close()
        let s2 = try fresh.recover()
        oldSender!.close()
        oldSender = nil
        s2.close()
        let s3 = try fresh.recover()
        #expect(!s3.isClosed)
        try s3.trySend(6)
        #expect(try fresh.tryReceive() == 6)
        #expect(throws: HatchSendError.closed(1)) { try s2.trySend(1) }
    }

    @Test func cancelledReceiveThrowsCancellationErrorAndKeepsHatchUsable() async throws {
        let (s, r) = makeHatch(of: Int.self)
        let receiving = Task { try await r.receive() }
        await waitUntil { r.hasSuspendedReceive }
        receiving.cancel()
        await #expect(throws: CancellationError.self) { try await receiving.value }
        #expect(!r.isClosed && !r.hasSuspendedReceive)
        try s.trySend(3)
        #expect(try await r.receive() == 3, "no value was swallowed")
        // Cancelled before it starts: a value that is there is still returned.
        try s.trySend(4)
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await r.receive()
        }
        #expect(try await late.value == 4)
        let empty = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await r.receive()
        }
        await #expect(throws: CancellationError.self) { try await empty.value }
    }

    @Test func cancelledSendHandsTheValueBackAsCancelled() async throws {
        let (s, r) = makeHatch(of: Int.self)
        try s.trySend(1)
        let sending = Task { try await s.send(2) }
        await waitUntil { s.hasSuspendedSend }
        sending.cancel()
        await #expect(throws: HatchSendError.cancelled(2)) { try await sending.value }
        #expect(try r.tryReceive() == 1)
        #expect(try r.tryReceive() == nil)
    }

    @Test func cancelledWaitForReceiverThrowsCancellationError() async throws {
        let (s, r) = makeHatch(of: Int.self)
        let waiting = Task { try await s.waitForReceiver() }
        await waitUntil { s.hasSuspendedSend }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(!s.isClosed)
        _ = r
    }

    @Test func twoConcurrentReceivesStopWithAClearMessage() async {
        await #expect(processExitsWith: .failure) {
            let (s, r) = makeHatch(of: Int.self)
            let first = Task { try await r.receive() }
            await waitUntil { r.hasSuspendedReceive }
            _ = try? await r.receive()  // second consumer: precondition failure
            _ = await first.result
            _ = s
        }
    }

    @Test func twoConcurrentSendsStopWithAClearMessage() async {
        await #expect(processExitsWith: .failure) {
            let (s, r) = makeHatch(of: Int.self)
            _ = try? s.trySend(0)
            let first = Task { try await s.send(1) }
            await waitUntil { s.hasSuspendedSend }
            _ = try? await s.send(2)
            _ = await first.result
            _ = r
        }
    }
}

import LoopTestSupport
import LoopUtilities
import Testing

@testable import Hatch

/// multishot's own test suite, expressed in Swift, plus the Swift-specific endpoint rules.
@Suite("Multishot", .stressTimeLimit)
struct MultishotTests {
    @Test func sendBeforeReceive() async throws {
        let receiver = MultishotReceiver<Tracked>()
        for round in 0..<100 {
            let sender = try #require(receiver.sender())
            #expect(sender.send(Tracked(round)))
            #expect(try await receiver.receive().id == round)
        }
    }

    @Test func sendAfterReceiveSuspends() async throws {
        let receiver = MultishotReceiver<Int>()
        for round in 0..<100 {
            let sender = try #require(receiver.sender())
            let receiving = Task { try await receiver.receive() }
            await waitUntil { receiver.isWaiting }
            #expect(sender.send(round))
            #expect(try await receiving.value == round)
        }
    }

    @Test func dropBeforeAndAfterReceiveThrowsAndReceiverIsReusable() async throws {
        let receiver = MultishotReceiver<Int>()
        do {
            _ = try #require(receiver.sender())  // released at once, unsent
        }
        await #expect(throws: HatchClosedError.closed) { try await receiver.receive() }
        var sender = receiver.sender()
        #expect(sender != nil)
        let receiving = Task { try await receiver.receive() }
        await waitUntil { receiver.isWaiting }
        sender = nil
        await #expect(throws: HatchClosedError.closed) { try await receiving.value }
        let again = try #require(receiver.sender(), "reusable after a dropped sender")
        again.send(7)
        #expect(try await receiver.receive() == 7)
    }

    @Test func receiveWithoutSenderThrows() async {
        await #expect(throws: HatchClosedError.closed) { try await MultishotReceiver<Int>().receive() }
    }

    @Test func senderIsNilWhileALiveUnsentSenderExists() throws {
        let receiver = MultishotReceiver<Int>()
        let first = try #require(receiver.sender())
        #expect(receiver.sender() == nil)
        #expect(first.send(1))
        #expect(!first.send(2), "a sender sends once")
        let second = receiver.sender()  // the unreceived 1 is discarded, as in multishot
        #expect(second != nil)
        #expect(!first.send(3), "a stale sender stays spent")
    }

    @Test func senderObjectIsRecycledWhenNobodyHoldsIt() async throws {
        let receiver = MultishotReceiver<Int>()
        var ids: Set<ObjectIdentifier> = []
        for round in 0..<50 {
            let sent = { () -> ObjectIdentifier in
                let sender = receiver.sender()!
                sender.send(round)
                return ObjectIdentifier(sender)
            }()
            ids.insert(sent)
            #expect(try await receiver.receive() == round)
        }
        #expect(ids.count == 1, "steady-state rounds reuse one sender object: no allocation")
        // A sender still held elsewhere is not reused.
        let held = receiver.sender()!
        held.send(1)
        _ = try await receiver.receive()
        let next = receiver.sender()!
        #expect(next !== held)
        #expect(!held.send(2))
        #expect(next.send(3))
        #expect(try await receiver.receive() == 3)
    }

    @Test func makeMultishotAndThreads() async throws {
        let (s, r) = makeMultishot(of: String.self)
        await onPlainThreads(1) { _ in s.send("42") }
        #expect(try await r.receive() == "42")
        let s2 = try #require(r.sender())
        let t = PlainThread { _ = s2 }  // released on another thread without sending
        await t.join()
        // s2 is still referenced here until the end of scope: release it explicitly.
        _ = consume s2
        await #expect(throws: HatchClosedError.closed) { try await r.receive() }
    }

    @Test(.heavyStress) func sendFromAnotherThreadWhileReceivePollsOrWaits() async throws {
        let receiver = MultishotReceiver<Int>()
        for round in 0..<(200 * stressFactor) {
            try Task.checkCancellation()  // a time limit ends the test, not each round
            let sender = receiver.sender()!
            let drop = round % 3 == 0
            let thread = PlainThread { if !drop { sender.send(round) } }
            _ = consume sender
            do {
                let value = try await receiver.receive()
                #expect(!drop && value == round)
            } catch {
                #expect(drop && error as? HatchClosedError == .closed)
            }
            await thread.join()
        }
    }

    @Test(.heavyStress) func dropBothOrSendAndDropReceiverConcurrently() async {
        let live = Counter()
        for round in 0..<(200 * stressFactor) {
            var receiver: MultishotReceiver<Tracked>? = MultishotReceiver()
            let sender = receiver!.sender()!
            let send = round % 2 == 0
            let thread = PlainThread { if send { _ = sender.send(Tracked(round, live: live)) } }
            _ = consume sender
            receiver = nil
            await thread.join()
        }
        #expect(live.value == 0, "no value or sender leaked")
    }

    @Test func cancelledReceiveThrowsCancellationErrorAndKeepsTheRoundOpen() async throws {
        let receiver = MultishotReceiver<Int>()
        let sender = receiver.sender()!
        let receiving = Task { try await receiver.receive() }
        await waitUntil { receiver.isWaiting }
        receiving.cancel()
        await #expect(throws: CancellationError.self) { try await receiving.value }
        #expect(receiver.sender() == nil, "the round is still open")
        sender.send(5)
        #expect(try await receiver.receive() == 5)
    }

    @Test func receiveOfAnAlreadyCancelledTaskTakesAReadyValueElseThrowsCancellationError() async throws {
        let receiver = MultishotReceiver<Int>()
        let sender = receiver.sender()!
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive()
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(receiver.sender() == nil, "the round is still open")
        sender.send(6)
        let ready = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive()
        }
        #expect(try await ready.value == 6, "a value that is there wins over the cancellation")
    }

    /// The deprecated `recv()` keeps its old contract for one release: typed
    /// `MultishotClosedError` (now `HatchClosedError`), and `.cancelled` for a cancelled wait.
    @available(*, deprecated, message: "exercises the deprecated recv() forwarder")
    @Test func deprecatedRecvKeepsItsOldErrors() async throws {
        let receiver = MultishotReceiver<Int>()
        await #expect(throws: MultishotClosedError.closed) { try await receiver.recv() }
        let sender = try #require(receiver.sender())
        let cancelled = Task { () -> MultishotClosedError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(MultishotClosedError) {
                _ = try await receiver.recv()
                return nil
            } catch {
                return error
            }
        }
        let error = await cancelled.value
        #expect(error == .cancelled && error?.isCancellation == true)
        #expect(receiver.sender() == nil, "the round is still open")
        sender.send(8)
        #expect(try await receiver.recv() == 8)
    }

    @Test func twoConcurrentReceivesStopWithAClearMessage() async {
        await #expect(processExitsWith: .failure) {
            let receiver = MultishotReceiver<Int>()
            let sender = receiver.sender()!
            let first = Task { try await receiver.receive() }
            await waitUntil { receiver.isWaiting }
            _ = try? await receiver.receive()
            _ = await first.result
            _ = sender
        }
    }
}

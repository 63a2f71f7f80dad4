import LoopTestSupport
import Testing

@testable import Hatch

@Suite("Hatch state machine", .stressTimeLimit) struct HatchStateTests {
    @Test func initialStateIsOpen() {
        let s = HatchState.initial
        #expect(!s.isLocked)
        #expect(s.isOpen(.sender, epoch: 0))
        #expect(s.isOpen(.receiver, epoch: 0))
        #expect(!s.isClosed(.sender) && !s.isClosed(.receiver))
    }

    @Test func closingAndRecoveringBumpsOnlyThatSidesEpoch() {
        let closed = HatchState.initial.closing(.receiver)
        #expect(closed.isClosed(.receiver))
        #expect(!closed.isOpen(.receiver, epoch: 0))
        #expect(closed.isOpen(.sender, epoch: 0))
        let recovered = closed.recovering(.receiver)
        #expect(recovered.isOpen(.receiver, epoch: 1))
        #expect(!recovered.isOpen(.receiver, epoch: 0), "the old receiver is stale")
        #expect(recovered.epoch(.sender) == 0)
        let again = recovered.closing(.sender).recovering(.sender)
        #expect(again.isOpen(.sender, epoch: 1) && again.isOpen(.receiver, epoch: 1))
    }

    @Test func epochsWrap() {
        var s = HatchState.initial
        for _ in 0..<3 { s = s.closing(.sender).recovering(.sender) }
        #expect(s.epoch(.sender) == 3)
        let top = HatchState(bits: HatchState.epochMask << HatchState.senderEpochShift).closing(.sender)
        #expect(top.recovering(.sender).epoch(.sender) == 0)
        #expect(top.recovering(.sender).epoch(.receiver) == 0)
    }

    @Test func lockBitIsIndependent() {
        let s = HatchState(bits: HatchState.lockedBit).closing(.sender)
        #expect(s.isLocked)
        #expect(!s.unlocked.isLocked)
        #expect(s.unlocked.isClosed(.sender))
    }

    @Test func sendDecisions() {
        let s = HatchState.initial
        #expect(s.sendAction(epoch: 0, slotFull: false, receiverWaiting: false, overwrites: false) == .store)
        #expect(s.sendAction(epoch: 0, slotFull: false, receiverWaiting: true, overwrites: false) == .handOff)
        #expect(s.sendAction(epoch: 0, slotFull: true, receiverWaiting: false, overwrites: false) == .full)
        #expect(s.sendAction(epoch: 0, slotFull: true, receiverWaiting: false, overwrites: true) == .replace)
        #expect(
            s.closing(.receiver).sendAction(epoch: 0, slotFull: false, receiverWaiting: false, overwrites: true)
                == .closed
        )
        #expect(
            s.closing(.sender).sendAction(epoch: 0, slotFull: false, receiverWaiting: false, overwrites: false)
                == .closed
        )
        #expect(s.sendAction(epoch: 1, slotFull: false, receiverWaiting: false, overwrites: false) == .closed)
    }

    @Test func receiveDecisions() {
        let s = HatchState.initial
        #expect(s.receiveAction(epoch: 0, slotFull: true) == .take)
        #expect(s.receiveAction(epoch: 0, slotFull: false) == .empty)
        #expect(s.closing(.sender).receiveAction(epoch: 0, slotFull: true) == .take, "a sent value outlives the sender")
        #expect(s.closing(.sender).receiveAction(epoch: 0, slotFull: false) == .closed)
        #expect(s.closing(.receiver).receiveAction(epoch: 0, slotFull: true) == .closed)
        #expect(s.receiveAction(epoch: 5, slotFull: true) == .closed, "stale receiver")
    }

    @Test func valueBitDecidesWhetherAReceiveCanOnlyWait() {
        let s = HatchState.initial
        #expect(!s.hasValue)
        #expect(s.mustWaitToReceive(epoch: 0), "open and empty: nothing to do but wait")
        let full = s.withValue(true)
        #expect(full.hasValue && !full.withValue(false).hasValue)
        #expect(!full.mustWaitToReceive(epoch: 0), "a value is there to take")
        #expect(!s.closing(.sender).mustWaitToReceive(epoch: 0), "the sender left: the receive must fail")
        #expect(!s.closing(.receiver).mustWaitToReceive(epoch: 0), "a closed receiver must fail")
        #expect(!s.mustWaitToReceive(epoch: 1), "a stale receiver must fail")
        // The value bit is independent of the others and survives lock, close and recovery.
        let other = HatchState(bits: HatchState.lockedBit).withValue(true).closing(.sender).recovering(.sender)
        #expect(other.hasValue && other.isLocked && other.isOpen(.sender, epoch: 1))
        #expect(other.unlocked.hasValue)
    }

    @Test func lazySendAndRecoverDecisions() {
        let s = HatchState.initial
        #expect(s.lazySendAction(epoch: 0, slotFull: false, receiverWaiting: true) == .ready)
        #expect(s.lazySendAction(epoch: 0, slotFull: false, receiverWaiting: false) == .wait)
        #expect(s.lazySendAction(epoch: 0, slotFull: true, receiverWaiting: false) == .wait)
        #expect(s.closing(.receiver).lazySendAction(epoch: 0, slotFull: false, receiverWaiting: false) == .closed)
        #expect(s.recoverAction(from: .sender, epoch: 0) == .peerLive)
        #expect(s.closing(.receiver).recoverAction(from: .sender, epoch: 0) == .recover)
        #expect(s.closing(.receiver).recoverAction(from: .receiver, epoch: 0) == .callerClosed)
        #expect(s.closing(.sender).recoverAction(from: .receiver, epoch: 0) == .recover)
        #expect(s.closing(.sender).recoverAction(from: .receiver, epoch: 1) == .callerClosed)
    }

    @Test func lazySendDecisionOfTheRealStorage() async throws {
        let (s, r) = makeHatch(of: Int.self)
        #expect(s.storage.lazySendAction(epoch: 0) == .wait, "nobody receives yet")
        let receiving = Task { try await r.receive() }
        await waitUntil { r.hasSuspendedReceive }
        #expect(s.storage.lazySendAction(epoch: 0) == .ready)
        #expect(s.storage.lazySendAction(epoch: 1) == .closed, "a stale sender")
        try s.trySend(1)
        #expect(try await receiving.value == 1)
        try s.trySend(2)
        #expect(s.storage.lazySendAction(epoch: 0) == .wait, "the slot is full")
        r.close()
        #expect(s.storage.lazySendAction(epoch: 0) == .closed)
    }
}

/// The multishot state machine: the pure decisions of `MultishotState`, and each transition
/// of `MultishotStorage` driven from the test (a waiting task only where a transition needs a
/// registered continuation), checked on the state bits and the outcome.
@Suite("Multishot state machine", .stressTimeLimit)
struct MultishotStateTests {
    typealias S = MultishotState
    typealias Storage = MultishotStorage<Tracked>

    static func bits(_ storage: Storage) -> UInt { storage.state.load(ordering: .acquiring) }

    static func describe(_ take: Storage.Take) -> String {
        switch take {
        case .value(let value): "value \(value.id)"
        case .closed: "closed"
        case .empty: "empty"
        }
    }

    static func describe(_ received: Storage.Received) -> String {
        switch received {
        case .value(let value): "value \(value.id)"
        case .closed: "closed"
        case .cancelled: "cancelled"
        }
    }

    @Test func decisions() {
        #expect(S(bits: 0).receiveAction == .closed)
        #expect(S.newRound.receiveAction == .wait)
        #expect(S(bits: S.valueBit).receiveAction == .take)
        #expect(S(bits: S.valueBit | S.waitingBit | S.goneBit).receiveAction == .take)
        #expect(S(bits: S.waitingBit).receiveAction == .closed)
        #expect(S(bits: 0).canMakeSender)
        #expect(S(bits: S.valueBit).canMakeSender, "an unreceived value is discarded by a new round")
        #expect(!S.newRound.canMakeSender)
        let waiting = S(bits: S.openBit | S.waitingBit)
        #expect(waiting.cancellationOwnsWaiter && waiting.senderOwnsWaiter)
        #expect(!S(bits: S.valueBit | S.waitingBit).cancellationOwnsWaiter, "after a send the sender owns it")
        #expect(!S.newRound.senderOwnsWaiter)
        #expect(S(bits: S.valueBit | S.waitingBit).afterTake.bits == 0, "a take clears a leftover waiting")
        #expect(!S.newRound.receiverOwnsSlots && S(bits: S.valueBit).receiverOwnsSlots)
    }

    @Test func aRoundThatSends() {
        let live = Counter()
        let storage = Storage()
        #expect(Self.bits(storage) == 0)
        #expect(Self.describe(storage.take()) == "closed", "no round started")
        let sender = storage.makeSender()!
        #expect(Self.bits(storage) == S.newRound.bits)
        #expect(storage.makeSender() == nil, "the round's sender is live")
        #expect(Self.describe(storage.take()) == "empty")
        #expect(Self.bits(storage) == S.openBit)
        #expect(sender.send(Tracked(1, live: live)))
        #expect(Self.bits(storage) == S.valueBit, "a send turns open into value")
        #expect(storage.parked === sender)
        #expect(Self.describe(storage.take()) == "value 1")
        #expect(Self.bits(storage) == 0 && storage.value == nil)
        #expect(Self.describe(storage.take()) == "closed", "the round is over")
        #expect(!sender.send(Tracked(2, live: live)), "a sender sends once")
        #expect(live.value == 0)
        storage.receiverGone()  // as the receiver's release does: frees the parked sender
    }

    @Test func aRoundWhoseSenderIsReleasedUnsent() {
        let storage = Storage()
        var sender = storage.makeSender()
        #expect(sender != nil && Self.bits(storage) == S.openBit)
        sender = nil
        #expect(Self.bits(storage) == 0, "a release clears open")
        #expect(Self.describe(storage.take()) == "closed")
        #expect(storage.makeSender() != nil, "the receiver is reusable")
    }

    @Test func aNewRoundDiscardsTheValueAndRecyclesAnUnheldSender() {
        let live = Counter()
        let storage = Storage()
        let first = { () -> ObjectIdentifier in
            let sender = storage.makeSender()!
            sender.send(Tracked(1, live: live))
            return ObjectIdentifier(sender)
        }()
        #expect(Self.bits(storage) == S.valueBit && storage.parked != nil && live.value == 1)
        let recycled = storage.makeSender()!
        #expect(ObjectIdentifier(recycled) == first, "nobody held the parked sender")
        #expect(Self.bits(storage) == S.newRound.bits && storage.parked == nil)
        #expect(live.value == 0, "the unreceived value was discarded")
        #expect(recycled.send(Tracked(2, live: live)), "the recycled sender is open again")
        #expect(Self.describe(storage.take()) == "value 2")
        let next = storage.makeSender()!
        #expect(next !== recycled, "a sender still held elsewhere is not reused")
        #expect(!recycled.send(Tracked(3, live: live)))
        #expect(live.value == 0)
        _ = next
        storage.receiverGone()
    }

    @Test func receiverGoneWhileTheSenderIsLive() {
        let live = Counter()
        let storage = Storage()
        let sender = storage.makeSender()!
        storage.receiverGone()
        #expect(Self.bits(storage) == S.openBit | S.goneBit)
        #expect(!sender.send(Tracked(1, live: live)), "the receiver is gone")
        #expect(Self.bits(storage) == S.valueBit | S.goneBit)
        #expect(storage.value == nil && storage.parked == nil, "the sender cleaned up after itself")
        #expect(live.value == 0)
    }

    @Test func receiverGoneAfterTheSendReleasesTheParkedSender() {
        let storage = Storage()
        weak var parked: MultishotSender<Tracked>?
        do {
            let sender = storage.makeSender()!
            sender.send(Tracked(1))
            parked = sender
        }
        #expect(parked != nil, "the storage parks the sender for reuse")
        storage.receiverGone()
        #expect(Self.bits(storage) == S.valueBit | S.goneBit)
        #expect(parked == nil, "the parked sender → storage cycle is broken")
    }

    @Test func registrationCancellationAndWakes() async throws {
        let live = Counter()
        let storage = Storage()
        // No live sender: the registration finds the round over and resumes at once.
        #expect(await storage.waitForValue() == false)
        #expect(Self.bits(storage) == 0)
        var sender = storage.makeSender()
        // A cancellation takes the registered continuation while the round is open.
        let cancelled = Task { await storage.waitForValue() }
        await waitUntil { S(bits: Self.bits(storage)).isWaiting }
        storage.cancelWaiter()
        #expect(Self.bits(storage) == S.openBit)
        #expect(await cancelled.value == true)
        storage.cancelWaiter()
        #expect(Self.bits(storage) == S.openBit, "a cancellation without a waiter changes nothing")
        // A send takes it and leaves `waiting` for the take to clear.
        let woken = Task { await storage.waitForValue() }
        await waitUntil { S(bits: Self.bits(storage)).isWaiting }
        #expect(sender!.send(Tracked(1, live: live)))
        #expect(await woken.value == false)
        #expect(Self.bits(storage) == S.valueBit | S.waitingBit)
        storage.cancelWaiter()
        #expect(Self.bits(storage) == S.valueBit, "a late cancellation takes nothing")
        #expect(Self.describe(storage.take()) == "value 1")
        #expect(Self.bits(storage) == 0)
        // A release without sending takes it too; the take that finds the round closed
        // clears the leftover `waiting`.
        sender = storage.makeSender()
        let dropped = Task { await storage.waitForValue() }
        await waitUntil { S(bits: Self.bits(storage)).isWaiting }
        sender = nil
        #expect(await dropped.value == false)
        #expect(Self.bits(storage) == S.waitingBit)
        #expect(Self.describe(storage.take()) == "closed")
        #expect(Self.bits(storage) == 0)
        #expect(live.value == 0)
        storage.receiverGone()
    }

    @Test func receiveOutcomes() async throws {
        let storage = Storage()
        #expect(Self.describe(await storage.receive()) == "closed")
        let sender = storage.makeSender()!
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return Self.describe(await storage.receive())
        }
        #expect(await early.value == "cancelled")
        #expect(Self.bits(storage) == S.openBit, "a cancelled receive leaves the round open")
        sender.send(Tracked(4))
        let ready = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return Self.describe(await storage.receive())
        }
        #expect(await ready.value == "value 4", "a value that is there wins over the cancellation")
        #expect(Self.bits(storage) == 0)
        storage.receiverGone()
    }
}

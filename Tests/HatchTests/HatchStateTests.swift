import Testing

@testable import Hatch

@Suite("Hatch state machine") struct HatchStateTests {
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
}

@Suite("Multishot state machine") struct MultishotStateTests {
    typealias S = MultishotState

    @Test func sendTurnsOpenIntoValueWhateverTheOtherBits() {
        for extra in [0, S.waitingBit, S.goneBit, S.waitingBit | S.goneBit] {
            let open = S(bits: S.openBit | extra)
            let sent = open.afterSend
            #expect(sent.hasValue && !sent.isOpen)
            #expect(sent.bits & ~S.valueBit == extra)
            let dropped = open.afterDrop
            #expect(!dropped.hasValue && !dropped.isOpen)
            #expect(dropped.bits == extra)
        }
    }

    @Test func receiveDecisions() {
        #expect(S(bits: 0).receiveAction == .closed)
        #expect(S.newRound.receiveAction == .wait)
        #expect(S.newRound.afterSend.receiveAction == .take)
        #expect(S.newRound.afterDrop.receiveAction == .closed)
        #expect(S(bits: S.waitingBit).receiveAction == .closed)
    }

    @Test func senderCreationAndWaiterOwnership() {
        #expect(S(bits: 0).canMakeSender)
        #expect(S.newRound.afterSend.canMakeSender, "an unreceived value is discarded by a new round")
        #expect(!S.newRound.canMakeSender)
        let waiting = S(bits: S.openBit | S.waitingBit)
        #expect(waiting.cancellationOwnsWaiter)
        #expect(!waiting.afterSend.cancellationOwnsWaiter, "after a send the sender owns it")
        #expect(waiting.senderOwnsWaiter)
        #expect(!S.newRound.senderOwnsWaiter)
    }
}

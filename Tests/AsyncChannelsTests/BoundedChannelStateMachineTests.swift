import EventLoop
import Testing

@testable import AsyncChannels

/// A plain waiter's token: always claimable, never a select; written as an integer.
struct Token: ChannelWaiterToken, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    let value: Int
    /// False for an entry of a select that has ended: the machine must skip it.
    var live = true
    init(integerLiteral value: Int) { self.value = value }
    init(_ value: Int, live: Bool) {
        self.value = value
        self.live = live
    }
    func claimForCompletion() -> Bool { live }
    var selectWaiter: _SelectWaiter? { nil }
    var description: String { "\(value)" }
}

/// The bounded channel's state machine alone, with integers as waiter tokens: no threads,
/// no tasks.
@Suite struct BoundedChannelStateMachineTests {
    typealias Machine = BoundedChannelStateMachine<String, Token, Token>

    @Test func sendThenReceiveIsFIFO() {
        var machine = Machine(capacity: 4)
        defer { machine.releaseStorage() }
        for word in ["a", "b", "c"] {
            guard case .enqueued = machine.send(word) else { Issue.record("not enqueued"); return }
        }
        #expect(machine.count == 3)
        for word in ["a", "b", "c"] {
            guard case .element(let got, nil) = machine.receive() else { Issue.record("no element"); return }
            #expect(got == word)
        }
        guard case .empty = machine.receive() else { Issue.record("not empty"); return }
    }

    @Test func sendHandsOffToTheLongestWaitingReceiver() {
        var machine = Machine(capacity: 4)
        defer { machine.releaseStorage() }
        guard case .suspended = machine.receiveOrSuspend(id: 1, token: 10),
            case .suspended = machine.receiveOrSuspend(id: 2, token: 20)
        else { Issue.record("did not suspend"); return }
        guard case .handOff("x", to: 10) = machine.send("x") else { Issue.record("no hand-off to 10"); return }
        guard case .handOff("y", to: 20) = machine.send("y") else { Issue.record("no hand-off to 20"); return }
        guard case .enqueued = machine.send("z") else { Issue.record("not enqueued"); return }
        #expect(machine.count == 1)
    }

    @Test func receiveOrSuspendTakesAReadyElementWithoutWaiting() {
        var machine = Machine(capacity: 4)
        defer { machine.releaseStorage() }
        _ = machine.send("ready")
        guard case .element("ready", nil) = machine.receiveOrSuspend(id: 1, token: 1) else {
            Issue.record("a ready element must be returned, not waited for")
            return
        }
        let noReceivers = machine.receivers.isEmpty
        #expect(noReceivers)
    }

    @Test func cancelReceiveRemovesOnlyItsOwnEntry() {
        var machine = Machine(capacity: 4)
        defer { machine.releaseStorage() }
        let (first, second, third): (UInt64, UInt64, UInt64) = (1, 2, 3)
        _ = machine.receiveOrSuspend(id: first, token: 1)
        _ = machine.receiveOrSuspend(id: second, token: 2)
        _ = machine.receiveOrSuspend(id: third, token: 3)
        #expect(machine.cancelReceive(id: second) == 2)
        #expect(machine.cancelReceive(id: second) == nil)
        guard case .handOff(_, to: 1) = machine.send("a"), case .handOff(_, to: 3) = machine.send("b") else {
            Issue.record("order of the remaining waiters changed")
            return
        }
        // Already resumed by a send: cancelling finds nothing, the receiver keeps the element.
        #expect(machine.cancelReceive(id: first) == nil)
    }

    @Test func closeKeepsElementsAndReleasesWaiters() {
        var machine = Machine(capacity: 4)
        defer { machine.releaseStorage() }
        _ = machine.receiveOrSuspend(id: 1, token: 7)
        guard let action = machine.close() else { Issue.record("first close returned nil"); return }
        #expect(action.receivers == [7])
        #expect(action.senders.isEmpty)
        #expect(machine.close() == nil)
        guard case .closed("late") = machine.send("late") else { Issue.record("send after close"); return }

        var other = Machine(capacity: 4)
        defer { other.releaseStorage() }
        _ = other.send("queued")
        _ = other.close()
        guard case .element("queued", nil) = other.receive() else { Issue.record("queued element lost"); return }
        guard case .closed = other.receive() else { Issue.record("not closed when drained"); return }
        guard case .closed = other.receiveOrSuspend(id: 1, token: 1) else {
            Issue.record("a receiver registered on a closed channel")
            return
        }
    }

    @Test func sendWaitsWhenFullAndReceiveMakesRoom() {
        var machine = Machine(capacity: 2)
        defer { machine.releaseStorage() }
        _ = machine.send("a")
        _ = machine.send("b")
        guard case .full("c") = machine.send("c") else { Issue.record("not full"); return }
        guard case .suspended = machine.sendOrSuspend("c", id: 1, token: 30),
            case .suspended = machine.sendOrSuspend("d", id: 2, token: 40)
        else { Issue.record("sender did not wait"); return }
        guard case .element("a", resumeSender: 30) = machine.receive() else { Issue.record("no room made"); return }
        #expect(machine.count == 2)
        guard case .element("b", resumeSender: 40) = machine.receive() else { Issue.record("no room made"); return }
        guard case .element("c", resumeSender: nil) = machine.receive(),
            case .element("d", resumeSender: nil) = machine.receive()
        else { Issue.record("waiting senders' elements out of order"); return }
    }

    @Test func cancelAndCloseHandElementsBack() {
        var machine = Machine(capacity: 1)
        defer { machine.releaseStorage() }
        _ = machine.send("in")
        _ = machine.sendOrSuspend("y", id: 2, token: 2)
        _ = machine.sendOrSuspend("z", id: 3, token: 3)
        let cancelled = machine.cancelSend(id: 2)
        #expect(cancelled?.token == 2)
        #expect(cancelled?.element == "y")
        #expect(machine.cancelSend(id: 2) == nil)
        guard let action = machine.close() else { Issue.record("close returned nil"); return }
        #expect(action.senders.map(\.token) == [3])
        #expect(action.senders.map(\.element) == ["z"])
        guard case .element("in", nil) = machine.receive(), case .closed = machine.receive() else {
            Issue.record("queued element lost on close")
            return
        }
    }

    @Test func capacityZeroIsARendezvous() {
        var machine = Machine(capacity: 0)
        defer { machine.releaseStorage() }
        guard case .full("a") = machine.send("a") else {
            Issue.record("a send with no receiver must not go in")
            return
        }
        guard case .suspended = machine.sendOrSuspend("b", id: 1, token: 1) else {
            Issue.record("the sender waits for a receiver")
            return
        }
        #expect(machine.count == 0, "a rendezvous queues nothing")
        guard case .element("b", let sender) = machine.receive() else {
            Issue.record("a receive takes the waiting sender's element")
            return
        }
        #expect(sender == 1)
        guard case .suspended = machine.receiveOrSuspend(id: 2, token: 2) else {
            Issue.record("with no sender, the receiver waits")
            return
        }
        guard case .handOff("c", let receiver) = machine.send("c") else {
            Issue.record("a send hands over to the waiting receiver")
            return
        }
        #expect(receiver == 2)
    }

    @Test func entriesOfEndedSelectsAreSkippedAndDropped() {
        var machine = Machine(capacity: 1)
        defer { machine.releaseStorage() }
        _ = machine.receiveOrSuspend(id: 1, token: Token(1, live: false))
        _ = machine.receiveOrSuspend(id: 2, token: 2)
        guard case .handOff("a", let receiver) = machine.send("a") else {
            Issue.record("the live receiver gets the element")
            return
        }
        #expect(receiver == 2)
        let receiversLeft = machine.receivers.count
        #expect(receiversLeft == 0, "the dead entry before it was dropped")
        guard case .enqueued = machine.send("b") else {
            Issue.record("room for one")
            return
        }
        _ = machine.sendOrSuspend("dead", id: 3, token: Token(3, live: false))
        _ = machine.sendOrSuspend("live", id: 4, token: 4)
        guard case .element("b", let sender) = machine.receive() else {
            Issue.record("the queued element comes first")
            return
        }
        #expect(sender == 4, "the live sender's element took the freed slot")
        guard case .element("live", nil) = machine.receive() else {
            Issue.record("the dead sender's element was never queued")
            return
        }
    }
}

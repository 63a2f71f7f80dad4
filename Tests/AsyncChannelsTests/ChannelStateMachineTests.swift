import Testing

@testable import AsyncChannels

/// The state machine alone, with integers as waiter tokens: no threads, no tasks.
@Suite struct ChannelStateMachineTests {
    typealias Machine = ChannelStateMachine<String, Int, Int>

    @Test func sendThenReceiveIsFIFO() {
        var machine = Machine(capacity: .max)
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

    @Test func ringGrowsAcrossTheWrapAndKeepsOrder() {
        var machine = Machine(capacity: .max)
        defer { machine.releaseStorage() }
        var next = 0
        var expected = 0
        // Interleave sends and receives so the live run wraps before each growth.
        for round in 0..<20 {
            for _ in 0..<(round + 3) {
                _ = machine.send("\(next)")
                next += 1
            }
            for _ in 0..<2 {
                guard case .element(let got, _) = machine.receive() else { Issue.record("empty"); return }
                #expect(got == "\(expected)")
                expected += 1
            }
        }
        while case .element(let got, _) = machine.receive() {
            #expect(got == "\(expected)")
            expected += 1
        }
        #expect(expected == next)
    }

    @Test func sendHandsOffToTheLongestWaitingReceiver() {
        var machine = Machine(capacity: .max)
        defer { machine.releaseStorage() }
        guard case .suspended = machine.receiveOrSuspend(id: 1, token: 10, isCancelled: false),
            case .suspended = machine.receiveOrSuspend(id: 2, token: 20, isCancelled: false)
        else { Issue.record("did not suspend"); return }
        guard case .handOff("x", to: 10) = machine.send("x") else { Issue.record("no hand-off to 10"); return }
        guard case .handOff("y", to: 20) = machine.send("y") else { Issue.record("no hand-off to 20"); return }
        guard case .enqueued = machine.send("z") else { Issue.record("not enqueued"); return }
        #expect(machine.count == 1)
    }

    @Test func receiveOrSuspendTakesAReadyElementWithoutWaiting() {
        var machine = Machine(capacity: .max)
        defer { machine.releaseStorage() }
        _ = machine.send("ready")
        guard case .element("ready", nil) = machine.receiveOrSuspend(id: 1, token: 1, isCancelled: true) else {
            Issue.record("a ready element must be returned even to a cancelled receiver")
            return
        }
    }

    @Test func cancelledReceiverDoesNotRegister() {
        var machine = Machine(capacity: .max)
        defer { machine.releaseStorage() }
        guard case .cancelled = machine.receiveOrSuspend(id: 1, token: 1, isCancelled: true) else {
            Issue.record("expected cancelled")
            return
        }
        guard case .enqueued = machine.send("kept") else { Issue.record("element went to a cancelled waiter"); return }
    }

    @Test func cancelReceiveRemovesOnlyItsOwnEntry() {
        var machine = Machine(capacity: .max)
        defer { machine.releaseStorage() }
        let (first, second, third): (UInt64, UInt64, UInt64) = (1, 2, 3)
        _ = machine.receiveOrSuspend(id: first, token: 1, isCancelled: false)
        _ = machine.receiveOrSuspend(id: second, token: 2, isCancelled: false)
        _ = machine.receiveOrSuspend(id: third, token: 3, isCancelled: false)
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
        var machine = Machine(capacity: .max)
        defer { machine.releaseStorage() }
        _ = machine.receiveOrSuspend(id: 1, token: 7, isCancelled: false)
        guard let action = machine.close() else { Issue.record("first close returned nil"); return }
        #expect(action.receivers == [7])
        #expect(action.senders.isEmpty)
        #expect(machine.close() == nil)
        guard case .closed("late") = machine.send("late") else { Issue.record("send after close"); return }

        var other = Machine(capacity: .max)
        defer { other.releaseStorage() }
        _ = other.send("queued")
        _ = other.close()
        guard case .element("queued", nil) = other.receive() else { Issue.record("queued element lost"); return }
        guard case .closed = other.receive() else { Issue.record("not closed when drained"); return }
        guard case .closed = other.receiveOrSuspend(id: 1, token: 1, isCancelled: false) else {
            Issue.record("a receiver registered on a closed channel")
            return
        }
    }

    @Test func boundedSendWaitsWhenFullAndReceiveMakesRoom() {
        var machine = Machine(capacity: 2)
        defer { machine.releaseStorage() }
        _ = machine.send("a")
        _ = machine.send("b")
        guard case .full("c") = machine.send("c") else { Issue.record("not full"); return }
        guard case .suspended = machine.sendOrSuspend("c", id: 1, token: 30, isCancelled: false),
            case .suspended = machine.sendOrSuspend("d", id: 2, token: 40, isCancelled: false)
        else { Issue.record("sender did not wait"); return }
        guard case .element("a", resumeSender: 30) = machine.receive() else { Issue.record("no room made"); return }
        #expect(machine.count == 2)
        guard case .element("b", resumeSender: 40) = machine.receive() else { Issue.record("no room made"); return }
        guard case .element("c", resumeSender: nil) = machine.receive(),
            case .element("d", resumeSender: nil) = machine.receive()
        else { Issue.record("waiting senders' elements out of order"); return }
    }

    @Test func boundedCancelAndCloseHandElementsBack() {
        var machine = Machine(capacity: 1)
        defer { machine.releaseStorage() }
        _ = machine.send("in")
        guard case .cancelled("x") = machine.sendOrSuspend("x", id: 1, token: 1, isCancelled: true) else {
            Issue.record("cancelled sender registered")
            return
        }
        _ = machine.sendOrSuspend("y", id: 2, token: 2, isCancelled: false)
        _ = machine.sendOrSuspend("z", id: 3, token: 3, isCancelled: false)
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
}

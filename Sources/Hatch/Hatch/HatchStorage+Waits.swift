import LoopUtilities

// The steps of the blocking and timed waits (`receiveSync`, `sendSync`, `receive(timeout:)`,
// `send(_:timeout:)`): their loops live in the endpoints, which read their own options at each
// attempt, and call these. None of them is on the path of a call that does not wait.
extension HatchStorage {
    // MARK: Spinning

    /// Spins as the calling plain thread's idle policy allows (`IdleWait.forPlainThread`,
    /// never past `deadline`) while a receive at `epoch` would only wait, watching the state
    /// word with relaxed loads. Returns true as soon as that changes (a value came, a side
    /// closed), false when the spin is spent. Call it off loop threads only.
    func spinWhileEmpty(epoch: UInt64, deadline: UInt64) -> Bool {
        var spin = IdleWait.forPlainThread(limit: deadline)
        return spin.spin { looksEmpty(epoch: epoch) }
    }

    /// Spins while a send at `epoch` would find the slot full, as
    /// ``spinWhileEmpty(epoch:deadline:)``.
    func spinWhileFull(epoch: UInt64, deadline: UInt64) -> Bool {
        var spin = IdleWait.forPlainThread(limit: deadline)
        // Relaxed: only a hint; the send that follows takes the lock and decides there.
        return spin.spin { HatchState(bits: state.load(ordering: .relaxed)).looksFull(epoch: epoch) }
    }

    // MARK: Receiving with a deadline, from a task

    /// `waitAsReceiver(epoch:closes:)` with a timer: registers the task, then arms a timer on
    /// `loop` that wakes it to re-check at `deadline` (monotonic nanoseconds). The timer is
    /// disarmed before this returns, however the wait ended. The caller re-checks after
    /// `.recheck`, and tells a timeout from a close by the clock.
    nonisolated(nonsending) func waitAsReceiver(
        epoch: UInt64,
        closes: Bool,
        deadline: UInt64,
        on loop: TimeoutLoop
    ) async -> ReceiverWake {
        var timer: WaitTimer? = nil
        let wake = await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<ReceiverWake, Never>) in
                let s = lock()
                switch s.receiveAction(epoch: epoch, slotFull: value != nil) {
                case .closed:
                    unlock(s)
                    continuation.resume(returning: .recheck)
                case .take:
                    continuation.resume(returning: .value(takeValue(s, closes: closes)))
                case .empty:
                    // Read under the lock, as in `waitAsReceiver(epoch:closes:)`.
                    if Task.isCancelled {
                        unlock(s)
                        continuation.resume(returning: .cancelled)
                        return
                    }
                    if receiverIsWaiting {
                        unlock(s)
                        Self.twoReceiversWait()
                    }
                    receiverWaiter = .task(continuation)
                    receiverWaiterCloses = closes
                    let sender = takeSenderWaiter()
                    unlock(s)
                    sender?.resume()
                    // Armed after the registration, so that a timer that fires at once finds
                    // the waiter. The task goes on only after this closure has returned.
                    timer = WaitTimer(on: loop, deadline: deadline) { [self] in wakeReceiverTask(.recheck) }
                }
            }
        } onCancel: {
            self.cancelReceiverWaiter()
        }
        timer?.disarm()
        return wake
    }

    // MARK: Receiving from a blocked thread

    /// Registers `thread` as the waiting receiver when a receive at `epoch` must wait.
    /// - Returns: nil when registered (park until the thread is handed its wake); else, with
    ///   nothing registered, the value (taken now) or `.recheck` (a side is closed: look again).
    func registerReceiver(_ thread: BlockedThread<ReceiverWake>, epoch: UInt64, closes: Bool) -> ReceiverWake? {
        let s = lock()
        switch s.receiveAction(epoch: epoch, slotFull: value != nil) {
        case .closed:
            unlock(s)
            return .recheck
        case .take:
            return .value(takeValue(s, closes: closes))
        case .empty:
            if receiverIsWaiting {
                unlock(s)
                Self.twoReceiversWait()
            }
            receiverWaiter = .thread(thread)
            receiverWaiterCloses = closes
            // A lazy sender waits for exactly this.
            let sender = takeSenderWaiter()
            unlock(s)
            sender?.resume()
            return nil
        }
    }

    /// Takes `thread`'s entry back after its deadline passed. True when it was still there:
    /// nobody will deliver to it, and the slot was empty (a waiting receiver means an empty
    /// slot), so the wait has timed out. False when a hand-off or a close took it first: its
    /// delivery is on the way.
    func removeReceiver(_ thread: BlockedThread<ReceiverWake>) -> Bool {
        let s = lock()
        guard case .thread(let registered) = receiverWaiter, registered === thread else {
            unlock(s)
            return false
        }
        receiverWaiter = nil
        unlock(s)
        return true
    }

    // MARK: Sending with a deadline, from a task

    /// `waitAsSender(epoch:for: .space)` with a timer that wakes the task to re-check at
    /// `deadline`; disarmed before this returns. Returns at once if the slot has room, a side
    /// is closed, or the task is cancelled. The caller re-checks, and tells a timeout by the
    /// clock.
    nonisolated(nonsending) func waitAsSender(epoch: UInt64, deadline: UInt64, on loop: TimeoutLoop) async {
        var timer: WaitTimer? = nil
        await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let s = lock()
                let mustWait =
                    s.sendAction(
                        epoch: epoch,
                        slotFull: value != nil,
                        receiverWaiting: receiverWaiter != nil,
                        overwrites: false
                    ) == .full
                // Read under the lock, as in `waitAsSender(epoch:for:)`.
                guard mustWait, !Task.isCancelled else {
                    unlock(s)
                    continuation.resume()
                    return
                }
                if senderWaiter != nil {
                    unlock(s)
                    Self.twoSendersWait()
                }
                senderWaiter = .task(continuation)
                unlock(s)
                // Armed after the registration; the task goes on only after this closure.
                timer = WaitTimer(on: loop, deadline: deadline) { [self] in cancelSenderWaiter() }
            }
        } onCancel: {
            self.cancelSenderWaiter()
        }
        timer?.disarm()
    }

    // MARK: Sending from a blocked thread

    /// Registers `thread` as the waiting sender when a send at `epoch` would find the slot
    /// full. Returns false, registering nothing, when it would not (look again).
    func registerSender(_ thread: BlockedThread<Void>, epoch: UInt64) -> Bool {
        let s = lock()
        let full =
            s.sendAction(
                epoch: epoch,
                slotFull: value != nil,
                receiverWaiting: receiverWaiter != nil,
                overwrites: false
            ) == .full
        guard full else {
            unlock(s)
            return false
        }
        if senderWaiter != nil {
            unlock(s)
            Self.twoSendersWait()
        }
        senderWaiter = .thread(thread)
        unlock(s)
        return true
    }

    /// Takes `thread`'s entry back after its deadline passed, if a receive or a close has not
    /// taken it (then a wake is on the way, and nothing needs it: the caller looks again).
    func removeSender(_ thread: BlockedThread<Void>) {
        let s = lock()
        if case .thread(let registered) = senderWaiter, registered === thread { senderWaiter = nil }
        unlock(s)
    }
}

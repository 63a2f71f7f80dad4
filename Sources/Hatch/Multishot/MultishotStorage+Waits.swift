public import LoopUtilities

// The receives with a timeout and the blocking receives of a multishot round. Each is the
// inlined `take()` of `receive()` (a value is taken with no clock read and no timer), then an
// out-of-line wait. The waiter slot's ownership rules are those of `waitForValue()` (see
// `MultishotState`): the timer of a timed wait is one more party that may clear `waiting`
// while `open` is set, exactly as the cancellation handler does.
extension MultishotStorage {
    /// `receive(timeout:)`/`receive(deadline:)`: takes a ready value, else waits until
    /// `limit`, read from the clock only now.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receive(within limit: WaitLimit) async throws -> Value {
        switch take() {
        case .value(let value): return value
        case .closed: throw HatchClosedError.closed
        case .empty: return try await receiveWaiting(deadline: limit.monotonicDeadline)
        }
    }

    /// `receiveSync()`/`receiveSync(timeout:)`: takes a ready value, else blocks until
    /// `limit` (nil: no limit), read from the clock only now.
    @inlinable
    @inline(__always)
    func receiveSync(within limit: WaitLimit?) throws -> Value {
        switch take() {
        case .value(let value): return value
        case .closed: throw HatchClosedError.closed
        case .empty: return try receiveSyncSlow(deadline: limit?.monotonicDeadline ?? .max)
        }
    }

    /// The waiting half of the timed receive: waits with a timer until the sender sends or
    /// is released, the task is cancelled or `deadline` (monotonic nanoseconds) passes.
    ///
    /// A wake with true (the cancellation handler or the timer took the waiter back) is a
    /// re-check: a value is still taken; else the task's cancellation, then the clock, say
    /// why the wait ended. `Task.isCancelled` is read only after such a wake.
    @usableFromInline
    nonisolated(nonsending) func receiveWaiting(deadline: UInt64) async throws -> Value {
        guard monotonicNanoseconds() < deadline else { throw HatchWaitError.timedOut }
        // Before the registration, so that a timeout thread that cannot start takes nothing.
        let loop = try TimeoutLoop.forCaller()
        while true {
            let takenBack = await waitForValue(deadline: deadline, on: loop)
            switch take() {
            case .value(let value): return value
            case .closed: throw HatchClosedError.closed
            case .empty: break
            }
            if takenBack && Task.isCancelled { throw CancellationError() }
            guard monotonicNanoseconds() < deadline else { throw HatchWaitError.timedOut }
        }
    }

    /// `waitForValue()` with a timer: registers the task, then arms a timer on `loop` that
    /// takes the waiter back at `deadline` (as a cancellation does). The timer is disarmed
    /// before this returns, however the wait ended.
    ///
    /// - Returns: true when the cancellation handler or the timer woke it.
    nonisolated(nonsending) func waitForValue(deadline: UInt64, on loop: TimeoutLoop) async -> Bool {
        var timer: WaitTimer? = nil
        let takenBack = await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                // Relaxed, as in `waitForValue()`: only the receiver sets `waiting`.
                if state.load(ordering: .relaxed) & MultishotState.waitingBit != 0 {
                    Self.twoReceiversWait()
                }
                waiter = .task(continuation)
                // Acquiring and releasing, as in `waitForValue()`.
                let old = MultishotState(
                    bits: state.bitwiseOr(MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
                )
                if !old.isOpen {
                    // The round ended before we registered: unregister and look at once.
                    // Relaxed, as in `waitForValue()`.
                    waiter = nil
                    state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
                    continuation.resume(returning: false)
                } else if Task.isCancelled {
                    self.cancelWaiter()
                } else {
                    // Armed after the registration, so that a timer that fires at once finds
                    // the waiter. The task goes on only after this closure has returned.
                    timer = WaitTimer(on: loop, deadline: deadline) { [self] in cancelWaiter() }
                }
            }
        } onCancel: {
            self.cancelWaiter()
        }
        timer?.disarm()
        return takenBack
    }

    /// The blocking half of the receives, after `take()` found the round open and empty:
    /// refuses on a loop thread, spins as the thread's idle policy allows, then parks until the sender sends or is
    /// released, or `deadline` (monotonic nanoseconds; `UInt64.max` is none).
    @usableFromInline
    func receiveSyncSlow(deadline: UInt64) throws -> Value {
        let onALoop = callerRunsALoop()
        var spin = onALoop ? IdleWait.none : IdleWait.forPlainThread(limit: deadline)
        while true {
            switch take() {
            case .value(let value): return value
            case .closed: throw HatchClosedError.closed
            case .empty: break
            }
            // Refused only where it would wait: a value or a release that came meanwhile counts.
            if onALoop { throw HatchWaitError.wouldBlockLoop }
            // The idle spin, as the thread's policy allows, while the round waits for its
            // value: each look is one relaxed load; `take()` above acquires.
            let sawChange = spin.spin {
                guard case .wait = MultishotState(bits: state.load(ordering: .relaxed)).receiveAction else {
                    return false
                }
                return true
            }
            if sawChange { continue }
            guard monotonicNanoseconds() < deadline else { throw HatchWaitError.timedOut }
            let thread = BlockedThread<Bool>()
            guard register(thread) else { continue }
            if thread.wait(deadline: deadline) == nil {
                if takeBack() { throw HatchWaitError.timedOut }
                _ = thread.wait()  // the sender took the entry: its wake is on the way
            }
        }
    }

    /// Registers `thread` as the waiter, as `waitForValue()` registers a task. False, with
    /// nothing registered, when the round ended first (look again).
    func register(_ thread: BlockedThread<Bool>) -> Bool {
        // Relaxed, as in `waitForValue()`.
        if state.load(ordering: .relaxed) & MultishotState.waitingBit != 0 { Self.twoReceiversWait() }
        waiter = .thread(thread)
        // Acquiring and releasing, as in `waitForValue()`: publishes `waiter` to the sender.
        let old = MultishotState(
            bits: state.bitwiseOr(MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
        )
        guard old.isOpen else {
            // Relaxed, as in `waitForValue()`.
            waiter = nil
            state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Takes a blocked thread's waiter back after its deadline passed (`open`, `waiting` →
    /// `open`, the RMW of ``cancelWaiter()``). True when it did: the round is still open with
    /// no value, nobody will deliver, and a value sent later stays for the next receive. False
    /// when the sender took the waiter first: its wake is on the way.
    func takeBack() -> Bool {
        // Acquiring and releasing, as in `cancelWaiter()`.
        let old = MultishotState(
            bits: state.bitwiseAnd(~MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
        )
        guard old.cancellationOwnsWaiter else { return false }
        waiter = nil
        return true
    }
}

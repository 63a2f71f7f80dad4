public import LoopUtilities
public import Synchronization

// The receives with a timeout and the blocking receives. Each is an inlined fast path, the
// one of `receive()` (a value is taken with no clock read, no timer and no lock beyond the
// take), then an out-of-line wait. The async entry points are always inlined: left to the
// optimizer they stayed an async frame of their own in the caller, and a ready
// `receive(timeout:)` cost 2.8 times a ready `receive()` (loop-bench
// `hatch-recv-timeout-ready`); inlined, it costs no more.
extension HatchReceiver {
    /// Receives the value, waiting for one if the hatch is empty, for at most `timeout`.
    ///
    /// As ``receive()``, and a ready value is returned at once: no clock read, no timer, the
    /// cost of ``receive()``. A wait arms one timer, after it has registered: on the caller's
    /// loop when the task runs on a `Dispatcher`, else on a shared timeout thread started on
    /// first use. The timer is removed before the call returns, however the wait ended, so a
    /// satisfied wait leaves none armed. A zero or negative timeout only looks once. Callable
    /// from any task, one wait at a time (a single consumer: a second receive waiting at once,
    /// in a task or a thread, stops the process with a message). Runs on the caller's executor
    /// (`nonisolated(nonsending)`).
    ///
    /// - Parameter timeout: how long to wait at most.
    /// - Returns: the value. A value sent before the sender closed still arrives.
    /// - Throws: ``HatchWaitError/timedOut`` when `timeout` passed first: nothing was taken,
    ///   and a value sent later stays in the hatch for the next receive;
    ///   ``HatchClosedError/closed`` when this receiver is closed or stale, or the sender is
    ///   closed and the hatch is empty; `CancellationError` when the task is cancelled while
    ///   it waits; `LoopError` when the shared timeout thread cannot be started (nothing taken).
    /// - Cancellation: as ``receive()``: the wait stops and throws `CancellationError`, no
    ///   value is consumed (one that arrived first is returned instead) and the hatch stays open.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func receive(timeout: Duration) async throws -> Value {
        try await receive(within: .timeout(timeout))
    }

    /// Receives the value, waiting for one if the hatch is empty, until `deadline` at the
    /// latest: ``receive(timeout:)`` with the time left until `deadline` (a past deadline only
    /// looks once). Same threads, costs and cancellation.
    ///
    /// - Parameter deadline: when to stop waiting, on the continuous clock.
    /// - Returns: the value.
    /// - Throws: as ``receive(timeout:)``.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func receive(deadline: ContinuousClock.Instant) async throws -> Value {
        try await receive(within: .deadline(deadline))
    }

    /// Receives the value, blocking the calling thread while the hatch is empty.
    ///
    /// For plain threads: a spin as the thread's idle policy allows (`IdlePolicy.currentThread`),
    /// then the thread parks (futex) until the sender hands it a value or a side closes. A value already there is taken at once, on any thread. On
    /// a thread that runs a loop now (a task or closure on a `LoopThread`, a thread dispatcher
    /// inside `run()` or `waitFor(_:)`, a shut-down dispatcher's fallback drain) it never
    /// parks: where it would wait it throws ``HatchWaitError/wouldBlockLoop`` at once. From a
    /// task on the global executor it blocks a thread of the shared pool: use ``receive()``
    /// there. One wait at a time (a single consumer: a task or thread already waiting on this
    /// hatch makes the process stop with a message). A blocked thread cannot be cancelled;
    /// ``close()`` on either side wakes it.
    ///
    /// - Returns: the value. A value sent before the sender closed still arrives.
    /// - Throws: ``HatchClosedError/closed`` when this receiver is closed or stale, or the
    ///   sender is closed and the hatch is empty; ``HatchWaitError/wouldBlockLoop`` when the
    ///   hatch is empty and open and the calling thread runs a loop (nothing is taken).
    @inlinable
    public func receiveSync() throws -> Value {
        if !storage.looksEmpty(epoch: epoch),
            let value = try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed))
        {
            return value
        }
        // No deadline: the timed wait that never gives up.
        return try receiveSyncSlow(deadline: .max)
    }

    /// Receives the value, blocking the calling thread while the hatch is empty, for at most
    /// `timeout`.
    ///
    /// As ``receiveSync()``; a ready value is taken with no clock read. The thread parks with
    /// a deadline (no timer is armed anywhere). A zero or negative timeout only looks. Same
    /// threads and single-consumer rule as ``receiveSync()``.
    ///
    /// - Parameter timeout: how long to wait at most.
    /// - Returns: the value.
    /// - Throws: ``HatchWaitError/timedOut`` when `timeout` passed first (nothing taken; a
    ///   value sent later stays for the next receive); ``HatchClosedError/closed`` as
    ///   ``receiveSync()``; ``HatchWaitError/wouldBlockLoop`` at once, instead of waiting, on
    ///   a thread that runs a loop.
    @inlinable
    public func receiveSync(timeout: Duration) throws -> Value {
        if !storage.looksEmpty(epoch: epoch),
            let value = try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed))
        {
            return value
        }
        return try receiveSyncSlow(deadline: WaitLimit.timeout(timeout).monotonicDeadline)
    }

    /// The timed receive: the fast path of `receive()`, then ``receiveWaiting(deadline:)``
    /// with the deadline read from the clock only now.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receive(within limit: WaitLimit) async throws -> Value {
        if !storage.looksEmpty(epoch: epoch),
            let value = try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed))
        {
            return value
        }
        return try await receiveWaiting(deadline: limit.monotonicDeadline)
    }

    /// The waiting half of the timed receive: registers with a timer until a value, a close,
    /// the cancellation or `deadline` (monotonic nanoseconds). A wake by the timer is a
    /// re-check: a value that came in the meantime is taken, else the clock says timed out.
    @usableFromInline
    nonisolated(nonsending) func receiveWaiting(deadline: UInt64) async throws -> Value {
        guard monotonicNanoseconds() < deadline else {
            // One more look, without registering: the deadline has passed.
            if let value = try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed)) {
                return value
            }
            throw HatchWaitError.timedOut
        }
        // Before the registration, so that a timeout thread that cannot start takes nothing.
        let loop = try TimeoutLoop.forCaller()
        while true {
            let closes = closesFlag.load(ordering: .relaxed)
            switch await storage.waitAsReceiver(epoch: epoch, closes: closes, deadline: deadline, on: loop) {
            case .value(let value): return value
            case .cancelled: throw CancellationError()
            case .recheck:
                // A close (this throws it), the timer, or a value stored after the timer
                // took the waiter out (taken: it arrived before we returned).
                if let value = try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed)) {
                    return value
                }
                guard monotonicNanoseconds() < deadline else { throw HatchWaitError.timedOut }
            }
        }
    }

    /// The blocking half of the receives, after the fast path found the hatch empty: refuses
    /// on a loop thread, spins as the thread's idle policy allows, then parks until a value, a close or `deadline`
    /// (monotonic nanoseconds; `UInt64.max` is none).
    @usableFromInline
    func receiveSyncSlow(deadline: UInt64) throws -> Value {
        guard !callerRunsALoop() else {
            // Refused only where it would wait: a value or a close that came meanwhile counts.
            if let value = try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed)) {
                return value
            }
            throw HatchWaitError.wouldBlockLoop
        }
        _ = storage.spinWhileEmpty(epoch: epoch, deadline: deadline)
        while true {
            let closes = closesFlag.load(ordering: .relaxed)
            if let value = try storage.tryReceive(epoch: epoch, closes: closes) { return value }
            guard monotonicNanoseconds() < deadline else { throw HatchWaitError.timedOut }
            let thread = BlockedThread<HatchStorage<Value>.ReceiverWake>()
            if let wake = storage.registerReceiver(thread, epoch: epoch, closes: closes) {
                if case .value(let value) = wake { return value }
                continue  // closed: the next look throws
            }
            let wake: HatchStorage<Value>.ReceiverWake
            if let delivered = thread.wait(deadline: deadline) {
                wake = delivered
            } else if storage.removeReceiver(thread) {
                throw HatchWaitError.timedOut
            } else {
                wake = thread.wait()  // a hand-off or a close took the entry: its wake is on the way
            }
            if case .value(let value) = wake { return value }
        }
    }
}

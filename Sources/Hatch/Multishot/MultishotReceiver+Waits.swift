public import LoopUtilities

// The receives with a timeout and the blocking receives of a multishot round.
extension MultishotReceiver {
    /// Receives the value of the current round, waiting for the sender, for at most `timeout`.
    ///
    /// As ``receive()``, and a value already sent is returned at once: no clock read, no
    /// timer, the cost of ``receive()``. A wait arms one timer, after it has registered: on the
    /// caller's loop when the task runs on a `Dispatcher`, else on a shared timeout thread
    /// started on first use; the timer is removed before the call returns, however the wait
    /// ended. A zero or negative timeout only looks once. Callable from any task, one wait at
    /// a time (a single consumer: a second receive waiting at once, in a task or a thread,
    /// stops the process with a message). Runs on the caller's executor
    /// (`nonisolated(nonsending)`).
    ///
    /// - Parameter timeout: how long to wait at most.
    /// - Returns: the value sent by this round's sender.
    /// - Throws: ``HatchWaitError/timedOut`` when `timeout` passed first: the round stays open
    ///   and a value sent later is kept for the next receive; ``HatchClosedError/closed`` when
    ///   this round's sender was released without sending, or no sender was made;
    ///   `CancellationError` when the task is cancelled while it waits; `LoopError` when the
    ///   shared timeout thread cannot be started (nothing taken).
    /// - Cancellation: as ``receive()``: nothing is taken (a value that arrived first is
    ///   returned instead), the round stays open and a later receive gets its value.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func receive(timeout: Duration) async throws -> Value {
        try await storage.receive(within: .timeout(timeout))
    }

    /// Receives the value of the current round, waiting for the sender, until `deadline` at
    /// the latest: ``receive(timeout:)`` with the time left until `deadline` (a past deadline
    /// only looks once). Same threads, costs and cancellation.
    ///
    /// - Parameter deadline: when to stop waiting, on the continuous clock.
    /// - Returns: the value sent by this round's sender.
    /// - Throws: as ``receive(timeout:)``.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func receive(deadline: ContinuousClock.Instant) async throws -> Value {
        try await storage.receive(within: .deadline(deadline))
    }

    /// Receives the value of the current round, blocking the calling thread until the sender
    /// sends or is released.
    ///
    /// For plain threads: a spin as the thread's idle policy allows (`IdlePolicy.currentThread`),
    /// then the thread parks (futex) until the sender's send or release wakes it. A value already sent is taken at once, on any thread. On a thread
    /// that runs a loop now (a task or closure on a `LoopThread`, a thread dispatcher inside
    /// `run()` or `waitFor(_:)`, a shut-down dispatcher's fallback drain) it never parks:
    /// where it would wait it throws ``HatchWaitError/wouldBlockLoop`` at once. One wait at a
    /// time (a single consumer: a task or thread already waiting on this receiver makes the
    /// process stop with a message). A blocked thread cannot be cancelled; releasing the
    /// round's sender wakes it.
    ///
    /// - Returns: the value sent by this round's sender.
    /// - Throws: ``HatchClosedError/closed`` when this round's sender was released without
    ///   sending, or no sender was made; ``HatchWaitError/wouldBlockLoop`` when the round is
    ///   open with no value and the calling thread runs a loop (nothing is taken).
    @inlinable
    @inline(__always)
    public func receiveSync() throws -> Value {
        try storage.receiveSync(within: nil)
    }

    /// Receives the value of the current round, blocking the calling thread until the sender
    /// sends or is released, for at most `timeout`.
    ///
    /// As ``receiveSync()``; a value already sent is taken with no clock read. The thread
    /// parks with a deadline (no timer is armed anywhere). A zero or negative timeout only
    /// looks. Same threads and single-consumer rule as ``receiveSync()``.
    ///
    /// - Parameter timeout: how long to wait at most.
    /// - Returns: the value sent by this round's sender.
    /// - Throws: ``HatchWaitError/timedOut`` when `timeout` passed first (the round stays
    ///   open; a value sent later is kept for the next receive); ``HatchClosedError/closed``
    ///   as ``receiveSync()``; ``HatchWaitError/wouldBlockLoop`` at once, instead of waiting,
    ///   on a thread that runs a loop.
    @inlinable
    @inline(__always)
    public func receiveSync(timeout: Duration) throws -> Value {
        try storage.receiveSync(within: .timeout(timeout))
    }
}

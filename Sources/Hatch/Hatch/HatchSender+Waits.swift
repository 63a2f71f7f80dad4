public import LoopUtilities
public import Synchronization

// The sends with a timeout and the blocking sends. Each is an inlined fast path, one
// `trySend` (no clock read, no timer), then an out-of-line wait for room. The async entry
// points are always inlined, as the receiver's are (see `HatchReceiver+Waits.swift`).
extension HatchSender {
    /// Sends, waiting while the slot holds an unreceived value, for at most `timeout`.
    ///
    /// As ``send(_:)``: it waits for room even in ``overwrites`` mode. With room (or a waiting
    /// receiver) it sends at once with no clock read and no timer. A wait arms one timer, after
    /// it has registered: on the caller's loop when the task runs on a `Dispatcher`, else on a
    /// shared timeout thread started on first use; the timer is removed before the call
    /// returns, however the wait ended. A zero or negative timeout only tries once. Callable
    /// from any task, one wait at a time (a single producer: a second send waiting at once, in
    /// a task or a thread, stops the process with a message). Runs on the caller's executor
    /// (`nonisolated(nonsending)`).
    ///
    /// - Parameters:
    ///   - value: the value to send.
    ///   - timeout: how long to wait for room at most.
    /// - Throws: ``HatchSendError`` carrying `value` back: ``HatchSendError/timedOut(_:)`` when
    ///   the slot was still full at the timeout (the hatch is unchanged and open),
    ///   ``HatchSendError/closed(_:)`` when either side is closed or closes while this call
    ///   waits, ``HatchSendError/cancelled(_:)`` when the task is cancelled while the slot is
    ///   still full. `LoopError` when the shared timeout thread cannot be started: then, as
    ///   for `BoundedAsyncChannel.send(_:timeout:)`, the value is not handed back.
    /// - Cancellation: as ``send(_:)``: the wait stops, nothing is sent, and the value comes
    ///   back in ``HatchSendError/cancelled(_:)``.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func send(_ value: Value, timeout: Duration) async throws {
        try await send(value, within: .timeout(timeout))
    }

    /// Sends, waiting while the slot holds an unreceived value, until `deadline` at the
    /// latest: ``send(_:timeout:)`` with the time left until `deadline` (a past deadline only
    /// tries once). Same threads, costs and cancellation.
    ///
    /// - Parameters:
    ///   - value: the value to send.
    ///   - deadline: when to stop waiting, on the continuous clock.
    /// - Throws: as ``send(_:timeout:)``.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func send(_ value: Value, deadline: ContinuousClock.Instant) async throws {
        try await send(value, within: .deadline(deadline))
    }

    /// Sends, blocking the calling thread while the slot holds an unreceived value.
    ///
    /// For plain threads: with room (or a waiting receiver) it sends at once; else a brief
    /// spin, then the thread parks (futex) until the receiver takes the value or a side
    /// closes. Waits for room even in ``overwrites`` mode (use ``trySend(_:)`` to overwrite).
    /// On a thread that runs a loop now (a task or closure on a `LoopThread`, a thread
    /// dispatcher inside `run()` or `waitFor(_:)`, a shut-down dispatcher's fallback drain) it
    /// never parks: where it would wait it throws ``HatchSendError/wouldBlockLoop(_:)`` at once.
    /// One wait at a time (a single producer: a task or thread already waiting to send on this
    /// hatch makes the process stop with a message). A blocked thread cannot be cancelled; a
    /// receive (room) or ``close()`` on either side wakes it.
    ///
    /// - Parameter value: the value to send.
    /// - Throws: ``HatchSendError`` carrying `value` back: ``HatchSendError/closed(_:)`` when
    ///   either side is closed or closes while it waits; ``HatchSendError/wouldBlockLoop(_:)``
    ///   when the slot is full and the calling thread runs a loop (nothing is sent).
    @inlinable
    public func sendSync(_ value: Value) throws(HatchSendError<Value>) {
        try sendSync(value, within: nil)
    }

    /// Sends, blocking the calling thread while the slot holds an unreceived value, for at
    /// most `timeout`.
    ///
    /// As ``sendSync(_:)``; with room it sends with no clock read. The thread parks with a
    /// deadline (no timer is armed anywhere). A zero or negative timeout only tries once. Same
    /// threads and single-producer rule as ``sendSync(_:)``.
    ///
    /// - Parameters:
    ///   - value: the value to send.
    ///   - timeout: how long to wait for room at most.
    /// - Throws: ``HatchSendError`` carrying `value` back: ``HatchSendError/timedOut(_:)`` when
    ///   the slot was still full at the timeout (the hatch is unchanged),
    ///   ``HatchSendError/closed(_:)``, or ``HatchSendError/wouldBlockLoop(_:)`` (full, on a
    ///   thread that runs a loop: it does not wait there).
    @inlinable
    public func sendSync(_ value: Value, timeout: Duration) throws(HatchSendError<Value>) {
        try sendSync(value, within: .timeout(timeout))
    }

    /// The timed send: one `trySend`, then ``sendWaiting(_:deadline:)`` with the deadline
    /// read from the clock only now.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func send(_ value: Value, within limit: WaitLimit) async throws {
        let closes = options.load(ordering: .relaxed) & Self.closesOnSendBit != 0
        do throws(HatchSendError<Value>) {
            _ = try storage.trySend(value, epoch: epoch, overwrites: false, closes: closes)
        } catch {
            guard case .full(let back) = error else { throw error }
            try await sendWaiting(back, deadline: limit.monotonicDeadline)
        }
    }

    /// The waiting half of the timed send: waits for room with a timer until `deadline`
    /// (monotonic nanoseconds), re-checking after each wake.
    @usableFromInline
    nonisolated(nonsending) func sendWaiting(_ value: Value, deadline: UInt64) async throws {
        var value = value
        while true {
            if Task.isCancelled { throw HatchSendError.cancelled(value) }
            guard monotonicNanoseconds() < deadline else { throw HatchSendError.timedOut(value) }
            // Before the registration, so that a timeout thread that cannot start takes nothing.
            let loop = try TimeoutLoop.forCaller()
            await storage.waitAsSender(epoch: epoch, deadline: deadline, on: loop)
            let closes = options.load(ordering: .relaxed) & Self.closesOnSendBit != 0
            do throws(HatchSendError<Value>) {
                _ = try storage.trySend(value, epoch: epoch, overwrites: false, closes: closes)
                return
            } catch {
                guard case .full(let back) = error else { throw error }
                value = back
            }
        }
    }

    /// The blocking send: one `trySend`, then ``sendSyncSlow(_:deadline:)``; `limit` nil is
    /// no deadline.
    @inlinable
    @inline(__always)
    func sendSync(_ value: Value, within limit: WaitLimit?) throws(HatchSendError<Value>) {
        let closes = options.load(ordering: .relaxed) & Self.closesOnSendBit != 0
        do throws(HatchSendError<Value>) {
            _ = try storage.trySend(value, epoch: epoch, overwrites: false, closes: closes)
        } catch {
            guard case .full(let back) = error else { throw error }
            try sendSyncSlow(back, deadline: limit?.monotonicDeadline ?? .max)
        }
    }

    /// The blocking half of the sends, after a `trySend` found the slot full: refuses on a
    /// loop thread, spins as the thread's idle policy allows, then parks until there is room, a close or `deadline`
    /// (monotonic nanoseconds; `UInt64.max` is none).
    @usableFromInline
    func sendSyncSlow(_ value: Value, deadline: UInt64) throws(HatchSendError<Value>) {
        var value = value
        let onALoop = callerRunsALoop()
        if !onALoop { _ = storage.spinWhileFull(epoch: epoch, deadline: deadline) }
        while true {
            let closes = options.load(ordering: .relaxed) & Self.closesOnSendBit != 0
            do throws(HatchSendError<Value>) {
                _ = try storage.trySend(value, epoch: epoch, overwrites: false, closes: closes)
                return
            } catch {
                guard case .full(let back) = error else { throw error }
                value = back
            }
            // Refused only where it would wait: room that came meanwhile was used above.
            if onALoop { throw .wouldBlockLoop(value) }
            guard monotonicNanoseconds() < deadline else { throw .timedOut(value) }
            let thread = BlockedThread<Void>()
            guard storage.registerSender(thread, epoch: epoch) else { continue }
            if thread.wait(deadline: deadline) == nil {
                // Still registered: take the entry back (the next try then times out). Else a
                // wake is on the way and nothing waits for it: the next try decides.
                storage.removeSender(thread)
            }
        }
    }
}

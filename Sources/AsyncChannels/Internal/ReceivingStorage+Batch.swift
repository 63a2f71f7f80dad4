public import EventLoop
public import LoopUtilities

// The batch receives of both channels, built on each storage's own single receives: a batch
// takes what is queued with one claim (unbounded) or one lock (bounded); when nothing is
// queued it waits as the single receive does (the same spin budget, park, suspension,
// timeout and cancellation), then takes whatever else has arrived without waiting. The
// unbounded channel's spin looks at the queue once per `Backoff.limit` pauses rather than
// after each, and with fewer than 16 elements queued it lingers one such interval before it
// takes them, so that a consumer that has caught up finds a batch, not one element. No
// element is ever kept anywhere but the caller's buffer, so a cancelled or abandoned caller
// loses nothing.

extension ReceivingStorage {
    /// Throws ``ChannelError/invalidMaxCount`` unless `maxCount` is at least 1.
    @inlinable
    static func checkMaxCount(_ maxCount: Int) throws(ChannelError) {
        guard maxCount >= 1 else { throw .invalidMaxCount }
    }

    /// After the first element of a batch: takes up to `maxCount` more without waiting. A
    /// close found here is reported by the next receive, after the elements taken now.
    @inlinable
    func receiveRest(upTo maxCount: Int, into buffer: inout [Element]) -> Int {
        guard maxCount > 0 else { return 0 }
        return (try? receiveAvailable(upTo: maxCount, into: &buffer)) ?? 0
    }

    /// `receive(upTo:into:)`: what is queued, else the single receive's wait and then what
    /// else is queued. Always inlined, as `receive()` is: each async frame between the caller
    /// and the continuation adds an executor hop per wait.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receive(upTo maxCount: Int, into buffer: inout [Element]) async throws -> Int {
        try Self.checkMaxCount(maxCount)
        // The single receive's spin: none on a loop with other ready work.
        let spin: IdleWait = Dispatcher.currentLoopHasReadyWork ? .none : .brief
        let taken = try receiveAvailable(upTo: maxCount, into: &buffer, spinning: spin)
        if taken > 0 { return taken }
        // Cancellation: `receiveWaiting()` either returns an element or throws having taken none.
        buffer.append(try await receiveWaiting())
        return 1 + receiveRest(upTo: maxCount - 1, into: &buffer)
    }

    /// `receive(upTo:into:timeout:)`: as `receive(upTo:into:)`, with `receive(timeout:)`'s wait.
    @inlinable
    nonisolated(nonsending) func receive(
        upTo maxCount: Int, into buffer: inout [Element], within limit: WaitLimit
    ) async throws -> Int {
        try Self.checkMaxCount(maxCount)
        let taken = try receiveAvailable(upTo: maxCount, into: &buffer)
        if taken > 0 { return taken }
        buffer.append(try await receive(within: limit))
        return 1 + receiveRest(upTo: maxCount - 1, into: &buffer)
    }

    /// `receiveSync(upTo:into:)`: what is queued, else `receiveSync()`'s spin and park, then
    /// what else is queued.
    @inlinable
    func receiveSync(upTo maxCount: Int, into buffer: inout [Element]) throws(ChannelError) -> Int {
        try Self.checkMaxCount(maxCount)
        let taken = try receiveAvailable(upTo: maxCount, into: &buffer, spinning: .forBlockingWait())
        if taken > 0 { return taken }
        buffer.append(try receiveSyncSlow())
        return 1 + receiveRest(upTo: maxCount - 1, into: &buffer)
    }

    /// `receiveSync(upTo:into:timeout:)`: as `receiveSync(upTo:into:)` with
    /// `receiveSync(timeout:)`'s wait.
    @inlinable
    func receiveSync(upTo maxCount: Int, into buffer: inout [Element], within limit: WaitLimit) throws(ChannelError)
        -> Int
    {
        try Self.checkMaxCount(maxCount)
        let taken = try receiveAvailable(upTo: maxCount, into: &buffer)
        if taken > 0 { return taken }
        buffer.append(try receiveSync(within: limit))
        return 1 + receiveRest(upTo: maxCount - 1, into: &buffer)
    }

    /// `tryReceive(upTo:into:)`: what is queued, never waiting; 0 when empty or closed and
    /// drained. It cannot throw, so a `maxCount` below 1 stops the process with a message.
    @inlinable
    func tryReceive(upTo maxCount: Int, into buffer: inout [Element]) -> Int {
        guard maxCount >= 1 else {
            fatalError("tryReceive(upTo:into:) needs a maxCount of at least 1, got \(maxCount): pass 1 or more")
        }
        return (try? receiveAvailable(upTo: maxCount, into: &buffer)) ?? 0
    }
}

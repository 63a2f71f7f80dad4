public import EventLoop

extension AsyncChannel {
    /// A select case that receives the next element, taken only when the case is chosen.
    ///
    /// Ready when an element is queued, or when the channel is closed and drained: then the
    /// handler gets nil (Go's `ok == false`), so a select never waits on a finished channel.
    /// When another case is chosen, no element is taken.
    /// - Parameter handler: runs on the selecting task or thread when the case is chosen,
    ///   with the element, or nil when the channel is closed and drained. It may throw; the
    ///   select rethrows.
    /// - Returns: the case, for `select` or `selectSync`.
    @inlinable
    public func onReceive<Result>(
        _ handler: @escaping (_ element: Element?) throws -> Result
    ) -> AsyncChannelReceiveCase<Element, Result> {
        AsyncChannelReceiveCase(storage: storage, handler: handler)
    }
}

/// A receive from an ``AsyncChannel`` in a select: made by ``AsyncChannel/onReceive(_:)``.
public struct AsyncChannelReceiveCase<Element: Sendable, Result>: SelectCase {
    @usableFromInline let storage: UnboundedChannelStorage<Element>
    @usableFromInline let handler: (Element?) throws -> Result

    @inlinable
    init(storage: UnboundedChannelStorage<Element>, handler: @escaping (Element?) throws -> Result) {
        self.storage = storage
        self.handler = handler
    }

    /// Pops an element, or sees the closure, without waiting or locking.
    @inlinable
    public func _poll() throws -> Result? {
        guard let received = storage.pollSelectReceive() else { return nil }
        return try handler(received)
    }

    /// Queues the select with the channel's waiting receivers.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {
        storage.registerSelectReceive(waiter, case: index)
    }

    /// Removes the select from the channel's waiting receivers.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {
        storage.unregisterSelect(waiter)
    }

    /// Runs the handler with the element handed over, or nil for a closed channel.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result {
        try handler(waiter.takePayload().map { $0 as! Element })
    }
}

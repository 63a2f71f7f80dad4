public import EventLoop

extension BoundedAsyncChannel {
    /// A select case that receives the next element, taken only when the case is chosen.
    ///
    /// Ready when an element is queued (its slot then goes to the longest-waiting sender),
    /// when a sender waits (capacity 0), or when the channel is closed and drained: then the
    /// handler gets nil, so a select never waits on a finished channel. When another case is
    /// chosen, no element is taken.
    /// - Parameter handler: runs on the selecting task or thread when the case is chosen,
    ///   with the element, or nil when the channel is closed and drained. It may throw; the
    ///   select rethrows.
    /// - Returns: the case, for `select` or `selectSync`.
    @inlinable
    public func onReceive<Result>(
        _ handler: @escaping (_ element: Element?) throws -> Result
    ) -> BoundedChannelReceiveCase<Element, Result> {
        BoundedChannelReceiveCase(storage: storage, handler: handler)
    }

    /// A select case that sends `element`, only when the case is chosen.
    ///
    /// Ready when there is room or a receiver waits (at capacity 0, only a waiting
    /// receiver), or when the channel is closed: then the handler gets false and the element
    /// was not sent. When another case is chosen, the element is not sent and reserves no
    /// room: it stays the caller's.
    /// - Parameters:
    ///   - element: the element to send.
    ///   - handler: runs on the selecting task or thread when the case is chosen; `sent` is
    ///     true when the element went in, false when the channel is closed. It may throw; the
    ///     select rethrows.
    /// - Returns: the case, for `select` or `selectSync`.
    @inlinable
    public func onSend<Result>(
        _ element: Element,
        _ handler: @escaping (_ sent: Bool) throws -> Result
    ) -> BoundedChannelSendCase<Element, Result> {
        BoundedChannelSendCase(storage: storage, element: element, handler: handler)
    }
}

/// A receive from a ``BoundedAsyncChannel`` in a select: made by
/// ``BoundedAsyncChannel/onReceive(_:)``.
public struct BoundedChannelReceiveCase<Element: Sendable, Result>: SelectCase {
    @usableFromInline let storage: BoundedChannelStorage<Element>
    @usableFromInline let handler: (Element?) throws -> Result

    @inlinable
    init(storage: BoundedChannelStorage<Element>, handler: @escaping (Element?) throws -> Result) {
        self.storage = storage
        self.handler = handler
    }

    /// Receives an element, or sees the closure, without waiting.
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

    /// Removes the select's entries from the channel.
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

/// A send into a ``BoundedAsyncChannel`` in a select: made by
/// ``BoundedAsyncChannel/onSend(_:_:)``.
public struct BoundedChannelSendCase<Element: Sendable, Result>: SelectCase {
    @usableFromInline let storage: BoundedChannelStorage<Element>
    @usableFromInline let element: Element
    @usableFromInline let handler: (Bool) throws -> Result

    @inlinable
    init(storage: BoundedChannelStorage<Element>, element: Element, handler: @escaping (Bool) throws -> Result) {
        self.storage = storage
        self.element = element
        self.handler = handler
    }

    /// Sends when there is room or a waiting receiver, or sees the closure, without waiting.
    @inlinable
    public func _poll() throws -> Result? {
        guard let sent = storage.pollSelectSend(element) else { return nil }
        return try handler(sent)
    }

    /// Queues the select, with its element, among the channel's waiting senders.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {
        storage.registerSelectSend(element, waiter, case: index)
    }

    /// Removes the select's entries from the channel; a queued element is dropped, never
    /// delivered.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {
        storage.unregisterSelect(waiter)
    }

    /// Runs the handler with whether the element went in.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result {
        try handler(waiter.takePayload() as? Bool ?? false)
    }
}

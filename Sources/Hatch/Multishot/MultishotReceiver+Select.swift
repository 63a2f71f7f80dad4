public import EventLoop

extension MultishotReceiver {
    /// A select case that receives the current round's value, taken only when the case is
    /// chosen.
    ///
    /// Ready when the round's sender has sent (the handler gets the value) or was released
    /// without sending, or no sender was made (the handler gets nil). A multishot receiver
    /// has one consumer: the select counts as its one waiting receive, and a `receive()` of
    /// another task at the same time stops the process with a message. When another case is
    /// chosen, the value stays for the next receive.
    /// - Parameter handler: runs on the selecting task or thread when the case is chosen,
    ///   with the value, or nil when the round ended without one. It may throw; the select
    ///   rethrows.
    /// - Returns: the case, for `select` or `selectSync`.
    @inlinable
    public func onReceive<Result>(
        _ handler: @escaping (_ value: Value?) throws -> Result
    ) -> MultishotReceiveCase<Value, Result> {
        MultishotReceiveCase(storage: storage, handler: handler)
    }
}

/// A receive from a ``MultishotReceiver`` in a select: made by
/// ``MultishotReceiver/onReceive(_:)``.
public struct MultishotReceiveCase<Value: Sendable, Result>: SelectCase {
    @usableFromInline let storage: MultishotStorage<Value>
    @usableFromInline let handler: (Value?) throws -> Result

    @inlinable
    init(storage: MultishotStorage<Value>, handler: @escaping (Value?) throws -> Result) {
        self.storage = storage
        self.handler = handler
    }

    /// Takes the round's value, or sees that it ended without one, without waiting.
    @inlinable
    public func _poll() throws -> Result? {
        switch storage.take() {
        case .value(let value): return try handler(value)
        case .closed: return try handler(nil)
        case .empty: return nil
        }
    }

    /// Registers the select as the receiver's waiter.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {
        storage.registerSelect(waiter, case: index)
    }

    /// Takes the registration back.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {
        storage.unregisterSelect()
    }

    /// Takes the value of the round that ended (this select is the receiver's one consumer,
    /// so it is still there), or reports that it ended without one.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result {
        guard let result = try _poll() else {
            fatalError("MultishotReceiver: a select chose the round but it is still open; is another task receiving?")
        }
        return result
    }
}

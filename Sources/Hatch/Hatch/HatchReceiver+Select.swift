public import EventLoop

extension HatchReceiver {
    /// A select case that receives the hatch's value, taken only when the case is chosen.
    ///
    /// Ready when the hatch holds a value, or when it is closed for this receiver (the
    /// handler gets nil). A hatch has one consumer: the select counts as this receiver's one
    /// waiting receive (a lazy sender's `waitForReceiver()` returns for it), and a
    /// `receive()` of another task at the same time stops the process with a message. When
    /// another case is chosen, the value stays in the hatch.
    /// - Parameter handler: runs on the selecting task or thread when the case is chosen,
    ///   with the value, or nil when the hatch is closed. It may throw; the select rethrows.
    /// - Returns: the case, for `select` or `selectSync`.
    @inlinable
    public func onReceive<Result>(
        _ handler: @escaping (_ value: Value?) throws -> Result
    ) -> HatchReceiveCase<Value, Result> {
        HatchReceiveCase(receiver: self, handler: handler)
    }
}

/// A receive from a ``HatchReceiver`` in a select: made by ``HatchReceiver/onReceive(_:)``.
public struct HatchReceiveCase<Value: Sendable, Result>: SelectCase {
    @usableFromInline let receiver: HatchReceiver<Value>
    @usableFromInline let handler: (Value?) throws -> Result

    @inlinable
    init(receiver: HatchReceiver<Value>, handler: @escaping (Value?) throws -> Result) {
        self.receiver = receiver
        self.handler = handler
    }

    /// Takes the value, or sees the closure, without waiting.
    @inlinable
    public func _poll() throws -> Result? {
        do {
            guard let value = try receiver.tryReceive() else { return nil }
            return try handler(value)
        } catch is HatchClosedError {
            return try handler(nil)
        }
    }

    /// Records the select as the hatch's waiting receiver.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {
        receiver.storage.registerSelect(waiter, case: index, epoch: receiver.epoch)
    }

    /// Removes the select's record.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {
        receiver.storage.unregisterSelect(waiter)
    }

    /// Takes the value the select was told of (the hatch's one consumer is this select, so
    /// it is still there), or reports the closure.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result {
        guard let result = try _poll() else {
            fatalError("HatchReceiver: a select chose the hatch but it is empty; is another task receiving from it?")
        }
        return result
    }
}

public import EventLoop

extension HatchSender {
    /// A select case that sends `value` into the hatch, only when the case is chosen.
    ///
    /// Ready when a send would not wait: the slot is empty or a receiver waits (or the sender
    /// ``overwrites``), or a side is closed (the handler gets false, and the value was not
    /// sent). A hatch has one producer: the select counts as this sender's one waiting send,
    /// and a `send` of another task at the same time stops the process with a message. When
    /// another case is chosen, nothing is sent and the value stays the caller's.
    /// - Parameters:
    ///   - value: the value to send.
    ///   - handler: runs on the selecting task or thread when the case is chosen; `sent` is
    ///     true when the value went in, false when the hatch is closed. It may throw; the
    ///     select rethrows.
    /// - Returns: the case, for `select` or `selectSync`.
    @inlinable
    public func onSend<Result>(
        _ value: Value,
        _ handler: @escaping (_ sent: Bool) throws -> Result
    ) -> HatchSendCase<Value, Result> {
        HatchSendCase(sender: self, value: value, handler: handler)
    }
}

/// A send into a hatch in a select: made by ``HatchSender/onSend(_:_:)``.
public struct HatchSendCase<Value: Sendable, Result>: SelectCase {
    @usableFromInline let sender: HatchSender<Value>
    @usableFromInline let value: Value
    @usableFromInline let handler: (Bool) throws -> Result

    @inlinable
    init(sender: HatchSender<Value>, value: Value, handler: @escaping (Bool) throws -> Result) {
        self.sender = sender
        self.value = value
        self.handler = handler
    }

    /// Sends when that does not wait, or sees the closure.
    @inlinable
    public func _poll() throws -> Result? {
        let sent: Bool
        do throws(HatchSendError<Value>) {
            try sender.trySend(value)
            sent = true
        } catch {
            guard case .closed = error else { return nil }
            sent = false
        }
        return try handler(sent)
    }

    /// Records the select as the hatch's waiting sender.
    @inlinable
    public func _register(_ waiter: _SelectWaiter, as index: Int) {
        sender.storage.registerSendSelect(waiter, case: index, epoch: sender.epoch, overwrites: sender.overwrites)
    }

    /// Removes the select's record.
    @inlinable
    public func _unregister(_ waiter: _SelectWaiter) {
        sender.storage.unregisterSendSelect(waiter)
    }

    /// Sends the value now that the slot has room (this select is the hatch's one producer,
    /// so the room is still there), or reports the closure.
    @inlinable
    public func _complete(_ waiter: _SelectWaiter) throws -> Result {
        guard let result = try _poll() else {
            fatalError("HatchSender: a select chose the send but the hatch is full; is another task sending to it?")
        }
        return result
    }
}

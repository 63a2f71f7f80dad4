/// The reusable receiving end of a multishot channel: it recycles its one-shot sender
/// without allocating new storage.
///
/// One allocation holds the state word, the value slot and the waiter slot for the
/// receiver's whole life. Each round: ``sender()`` gives a ``MultishotSender``, which sends
/// once (or is released without sending), and ``receive()`` gets the value (or throws
/// ``HatchClosedError/closed``). A single consumer: at most one call may wait at a time, a
/// task in ``receive()`` or ``receive(timeout:)`` or a thread in ``receiveSync()`` (two at
/// once stop the process with a message).
public final class MultishotReceiver<Value: Sendable>: Sendable {
    @usableFromInline let storage: MultishotStorage<Value>

    /// Creates a receiver with no sender yet; ``receive()`` throws ``HatchClosedError/closed``
    /// until ``sender()`` makes one. Allocates the channel's one storage object.
    public init() {
        storage = MultishotStorage()
    }

    deinit {
        storage.receiverGone()
    }

    /// Returns the sender of a new round, or nil while a live sender has neither sent nor
    /// been released.
    ///
    /// Guaranteed to succeed on the first call and whenever the previous round's
    /// ``receive()`` has completed. A value that was sent but not received is discarded. The
    /// sender object of the previous round is reused when nobody else holds it any more,
    /// so steady-state rounds allocate nothing. Cost: 1 acquiring load + 1 CAS.
    /// Call it from the receiver's owner (not concurrently with ``receive()``); two threads
    /// calling it at once get at most one sender.
    @inlinable
    @inline(__always)
    public func sender() -> MultishotSender<Value>? {
        storage.makeSender()
    }

    /// Receives the value of the current round, waiting for the sender.
    ///
    /// Callable from any task, one at a time (a single consumer: a second `receive()`
    /// suspended at once stops the process with a message). Runs on the caller's executor
    /// (`nonisolated(nonsending)`); the sender resumes it from any thread (a task on a
    /// `Dispatcher` wakes through its inbox). Cost with the value present: 1 acquiring
    /// load + 1 CAS; waiting adds 1 RMW to register, and the sender's send RMW wakes it.
    ///
    /// - Returns: the value sent by this round's sender.
    /// - Throws: ``HatchClosedError/closed`` when this round's sender was released without
    ///   sending, or no sender was made (the receiver stays reusable: call ``sender()``).
    ///   When the task is cancelled while waiting, throws `CancellationError`: nothing is
    ///   taken (a value that arrived first is returned instead), the round stays open and a
    ///   later `receive()` gets its value.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func receive() async throws -> Value {
        switch await storage.receive() {
        case .value(let value): return value
        case .closed: throw HatchClosedError.closed
        case .cancelled: throw CancellationError()
        }
    }

    /// The former name of ``receive()``, with its former errors: throws
    /// ``HatchClosedError/closed`` as `receive()` does, and the deprecated
    /// ``HatchClosedError/cancelled`` where `receive()` throws `CancellationError`.
    /// Otherwise the same call: same threads, same cost, same cancellation semantics.
    @available(*, deprecated, renamed: "receive()")
    @inlinable
    @inline(__always)
    nonisolated(nonsending) public func recv() async throws(MultishotClosedError) -> Value {
        switch await storage.receive() {
        case .value(let value): return value
        case .closed: throw .closed
        case .cancelled: throw .cancelled
        }
    }
}

/// The former name of ``HatchClosedError``, which hatches, oneshots and multishot rounds
/// now share.
@available(*, deprecated, renamed: "HatchClosedError")
public typealias MultishotClosedError = HatchClosedError

/// Makes a multishot receiver and the sender of its first round. Callable from any thread.
/// - Parameter of: the value type, when it cannot be inferred.
/// - Returns: the first round's open sender, and the receiver.
@inlinable
public func makeMultishot<Value: Sendable>(
    of: Value.Type = Value.self
) -> (sender: MultishotSender<Value>, receiver: MultishotReceiver<Value>) {
    let receiver = MultishotReceiver<Value>()
    return (receiver.sender().unsafelyUnwrapped, receiver)
}

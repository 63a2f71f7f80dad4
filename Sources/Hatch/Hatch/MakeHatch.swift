/// Makes a reusable single-slot channel between one producer and one consumer.
///
/// The hatch holds at most one value. ``HatchSender/trySend(_:)`` stores it (or, in
/// overwrite mode, replaces the waiting one), ``HatchSender/send(_:)`` waits for room, and
/// ``HatchReceiver/receive()`` waits for a value. It allocates once: messages, waits and
/// recoveries reuse the same storage. Callable from any thread.
///
/// - Parameter of: the value type, when it cannot be inferred.
/// - Returns: the two endpoints. Releasing the last reference to an endpoint closes its side.
@inlinable
public func makeHatch<Value: Sendable>(
    of: Value.Type = Value.self
) -> (sender: HatchSender<Value>, receiver: HatchReceiver<Value>) {
    let storage = HatchStorage<Value>()
    return (HatchSender(storage: storage, epoch: 0), HatchReceiver(storage: storage, epoch: 0))
}

/// Makes a hatch for a single value: the sender closes after its first successful send
/// and the receiver after its first successful receive.
///
/// Allocates three objects (the storage and the two endpoints). For a reply per request on
/// a hot path, a ``MultishotReceiver`` whose sender is recycled allocates nothing.
/// Callable from any thread.
///
/// - Parameter of: the value type, when it cannot be inferred.
/// - Returns: the two endpoints, with ``HatchSender/closesOnSend`` and
///   ``HatchReceiver/closesOnReceive`` set.
@inlinable
public func makeOneshot<Value: Sendable>(
    of: Value.Type = Value.self
) -> (sender: HatchSender<Value>, receiver: HatchReceiver<Value>) {
    let storage = HatchStorage<Value>()
    return (
        HatchSender(storage: storage, epoch: 0, options: HatchSender<Value>.closesOnSendBit),
        HatchReceiver(storage: storage, epoch: 0, closesOnReceive: true)
    )
}

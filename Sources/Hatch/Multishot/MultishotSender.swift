public import Synchronization

/// The one-shot sending end of a multishot round (see ``MultishotReceiver/sender()``).
///
/// A copyable reference, callable from any thread. The first ``send(_:)`` delivers; later
/// calls return false. Releasing the last reference without sending ends the round: the
/// receiver's ``MultishotReceiver/receive()`` throws ``HatchClosedError/closed``.
public final class MultishotSender<Value: Sendable>: Sendable {
    @usableFromInline let storage: MultishotStorage<Value>
    /// Set by the first send. Relaxed suffices: it only elects one sender among concurrent
    /// callers; the value itself is published by the state RMW.
    @usableFromInline let consumed: Atomic<Bool>

    @usableFromInline
    init(storage: MultishotStorage<Value>) {
        self.storage = storage
        self.consumed = Atomic(false)
    }

    deinit {
        // Relaxed: the last release orders every earlier use of this object before deinit.
        guard !consumed.load(ordering: .relaxed) else { return }
        storage.senderDropped()
    }

    /// Sends the round's value and wakes a waiting receiver. Callable from any thread; of
    /// concurrent calls, exactly one delivers.
    ///
    /// Cost: 1 RMW electing the first call, 1 arithmetic RMW (`fetch_sub`, no CAS loop)
    /// publishing the value, plus the receiver's resumption if it waits. No allocation.
    ///
    /// - Parameter value: the value.
    /// - Returns: true if this call delivered the value; false if this sender already sent
    ///   (the value is dropped) or the receiver has been released.
    @inlinable
    @inline(__always)
    @discardableResult
    public func send(_ value: Value) -> Bool {
        // Relaxed: see `consumed`.
        guard !consumed.exchange(true, ordering: .relaxed) else { return false }
        return storage.send(value, from: self)
    }

    /// Reopens this sender for a new round: only ``MultishotStorage/makeSender()`` calls
    /// it, on a parked sender that nobody else holds.
    @inlinable
    func rearm() {
        // Relaxed: the object is exclusively ours until `makeSender()` returns it, and the
        // caller's hand-over of the sender publishes this store.
        consumed.store(false, ordering: .relaxed)
    }
}

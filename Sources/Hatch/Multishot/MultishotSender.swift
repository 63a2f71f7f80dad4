public import Synchronization

/// The one-shot sending end of a multishot round (see ``MultishotReceiver/sender()``).
///
/// A copyable reference, callable from any thread. The first ``send(_:)`` delivers; later
/// calls return false. Releasing the last reference without sending ends the round: the
/// receiver's ``MultishotReceiver/recv()`` throws ``MultishotClosedError/closed``.
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
        // Releasing: our round is over; acquiring: we may take the registered continuation.
        let old = MultishotState(
            bits: storage.state.wrappingSubtract(MultishotState.dropDelta, ordering: .acquiringAndReleasing)
                .oldValue
        )
        if old.senderOwnsWaiter {
            let continuation = storage.waiter.unsafelyUnwrapped
            storage.waiter = nil
            continuation.resume(returning: false)
        }
    }

    /// Sends the round's value and wakes a waiting receiver.
    ///
    /// Cost: 1 RMW electing the first call, 1 arithmetic RMW (`fetch_sub`, no CAS loop)
    /// publishing the value, plus the receiver's resumption if it waits. No allocation.
    ///
    /// - Parameter value: the value.
    /// - Returns: true if this call delivered the value; false if this sender already sent
    ///   (the value is dropped) or the receiver has been released.
    @inlinable
    @discardableResult
    public func send(_ value: Value) -> Bool {
        // Relaxed: see `consumed`.
        guard !consumed.exchange(true, ordering: .relaxed) else { return false }
        storage.value = value
        storage.parked = self
        // Releasing: publishes `value` and `parked` to the receiver's acquiring load.
        // Acquiring: we may take the continuation the receiver published.
        let old = MultishotState(
            bits: storage.state.wrappingSubtract(MultishotState.sendDelta, ordering: .acquiringAndReleasing)
                .oldValue
        )
        if old.isReceiverGone {
            // The receiver saw us open and left the cleanup to us.
            storage.value = nil
            storage.parked = nil
            return false
        }
        if old.senderOwnsWaiter {
            let continuation = storage.waiter.unsafelyUnwrapped
            storage.waiter = nil
            continuation.resume(returning: false)
        }
        return true
    }
}

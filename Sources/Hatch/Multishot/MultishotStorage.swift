public import LoopUtilities
public import Synchronization

/// The one allocation of a multishot channel, for the receiver's whole life.
@usableFromInline
final class MultishotStorage<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: the plain fields are handed between threads by the `state` RMWs,
    // as each field's comment says; no field is ever touched by two parties at once.

    /// The ``MultishotState`` bits.
    @usableFromInline let state: Atomic<UInt>
    /// Written by the live sender before its releasing send RMW; read and cleared by the
    /// receiver after an acquiring load/CAS that saw `value`, or by `sender()`/`recv()` when
    /// no sender is live.
    @usableFromInline @exclusivity(unchecked) var value: Value?
    /// Written by the receiver while `waiting` is clear, then published by its releasing RMW
    /// that sets `waiting`; taken by the one party that owns it (see ``MultishotState``).
    /// Resumed with true by a cancellation, false by the sender (sent or released).
    @usableFromInline @exclusivity(unchecked) var waiter: UnsafeContinuation<Bool, Never>?
    /// A sender that has sent, kept for reuse so that `sender()` need not allocate. Written
    /// by that sender before its releasing send RMW; read by the receiver only after an
    /// acquiring load that saw `open` clear (or by the sender itself once the receiver is gone).
    @usableFromInline @exclusivity(unchecked) var parked: MultishotSender<Value>?

    @usableFromInline
    init() {
        state = Atomic(0)
        value = nil
        waiter = nil
        parked = nil
    }

    /// The cancellation handler of a suspended `recv()`: 1 RMW.
    @usableFromInline
    func cancelWaiter() {
        // Acquiring: we may take the continuation the receiver published with its releasing
        // RMW. Releasing: orders the task's cancelled flag (set before this handler runs)
        // before a later registration that reads our result (see `waitForValue`).
        let old = MultishotState(
            bits: state.bitwiseAnd(~MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
        )
        if old.cancellationOwnsWaiter {
            let continuation = waiter.unsafelyUnwrapped
            waiter = nil
            continuation.resume(returning: true)
        }
    }

    /// Suspends the receiver until the sender sends, is released, or the task is cancelled.
    /// The caller re-examines the state afterwards.
    ///
    /// - Returns: true when a cancellation woke it. The task's cancellation is read only
    ///   here, once per wait (each read of `Task.isCancelled` retains and releases the task).
    @inlinable
    nonisolated(nonsending) func waitForValue() async -> Bool {
        await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                // Acquiring-and-releasing for the load is not needed: `waiting` is only ever
                // set by the receiver, so a relaxed load tells whether another receive of
                // this receiver is suspended right now (misuse).
                if state.load(ordering: .relaxed) & MultishotState.waitingBit != 0 {
                    preconditionFailure(
                        "MultishotReceiver: two tasks are suspended in recv() on the same receiver at once; "
                            + "a multishot channel has a single consumer"
                    )
                }
                waiter = continuation
                // Releasing: publishes `waiter` to the sender or the cancellation handler
                // that will take it. Acquiring: if the sender finished first, its value
                // write is visible, and the cancellation handler's flag is (see below).
                let old = MultishotState(
                    bits: state.bitwiseOr(MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
                )
                if !old.isOpen {
                    // The sender finished before we registered and never saw `waiting`: the
                    // slot is still ours. Unregister and resume at once.
                    waiter = nil
                    state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
                    continuation.resume(returning: false)
                } else if Task.isCancelled {
                    // A cancellation handler that ran before our RMW found nothing to take.
                    // Take it back ourselves unless the sender or a handler already did.
                    self.cancelWaiter()
                }
            }
        } onCancel: {
            self.cancelWaiter()
        }
    }
}

internal import LoopUtilities

/// One plain thread blocked in `recvSync` or `sendSync`, and the outcome it waits for.
///
/// The channel removes the waiter from its queue under its lock, then — outside the lock —
/// calls ``deliver(_:)`` exactly once. The blocked thread parks until the outcome is there.
@usableFromInline
final class ThreadWaiter<Value: Sendable>: Sendable {
    private let parker = ThreadParker()
    /// The delivered outcome; taken by ``wait()``. A lock rather than relying on the
    /// parker's acquire/release so that the hand-over is obvious (and TSan-visible); it is
    /// on the blocking path only.
    private let slot = LockedValue<Value?>(nil)

    @usableFromInline
    init() {}

    /// Hands the outcome to the blocked thread and wakes it. Any thread; never blocks.
    @usableFromInline
    func deliver(_ value: Value) {
        // A copy, not `consume value`: on Swift 6.3.1, consuming a captured `sending`
        // parameter inside this closure compiled to an over-release (crash in the stress test).
        slot.withLock { $0 = value }
        parker.unpark()
    }

    /// Blocks the calling thread until ``deliver(_:)`` has run, then returns its value.
    @usableFromInline
    func wait() -> Value {
        while true {
            // A park may also return for an unpark that raced with an earlier check; the
            // slot, not the wake-up, says whether the outcome is there.
            if let value = slot.withLock({ $0.take() }) { return value }
            parker.park()
        }
    }
}

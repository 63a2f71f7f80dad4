/// One plain thread blocked in `receiveSync` or `sendSync`, parked until it is handed the
/// outcome it waits for.
///
/// A primitive keeps it in a waiter entry (a channel's `ReceiveWaiter.thread`/`SendWaiter.thread`,
/// a hatch's or multishot's thread waiter). Whoever takes that entry out — a send, a
/// receive or a close, under the channel's or hatch's lock or by the multishot's state RMW —
/// then calls ``deliver(_:)`` exactly once, outside the lock; the blocked thread parks in
/// ``wait()`` until the outcome is there. A blocked thread is never cancelled.
@usableFromInline
package final class BlockedThread<Value: Sendable>: Sendable {
    private let parker = ThreadParker()
    /// The delivered outcome; taken by ``wait()``. A lock rather than relying on the
    /// parker's acquire/release so that the hand-over is obvious (and TSan-visible); it is
    /// on the blocking path only.
    private let slot = LockedValue<Value?>(nil)

    @usableFromInline
    package init() {}

    /// Hands the outcome to the blocked thread and wakes it. Any thread; never blocks. Call
    /// exactly once.
    @usableFromInline
    package func deliver(_ value: Value) {
        // A copy, not `consume value`: on Swift 6.3.1, consuming a captured `sending`
        // parameter inside this closure compiled to an over-release (crash in the stress test).
        slot.withLock { $0 = value }
        parker.unpark()
    }

    /// Blocks the calling thread until ``deliver(_:)`` has run or the monotonic clock reaches
    /// `deadline` (nanoseconds; `UInt64.max` is no deadline); nil on the deadline. After a nil the waiter
    /// entry may still be in the primitive: the caller removes it (under the lock), or, when a
    /// delivery already removed it, waits for that delivery with ``wait()``.
    @usableFromInline
    package func wait(deadline: UInt64) -> Value? {
        while true {
            if let value = slot.withLock({ $0.take() }) { return value }
            if deadline == .max {
                _ = parker.park()
                continue
            }
            let now = monotonicNanoseconds()
            guard now < deadline else { return nil }
            _ = parker.park(timeout: .nanoseconds(Int64(clamping: deadline - now)))
        }
    }

    /// ``wait(deadline:)`` after an idle spin: spins as `spin` allows while no outcome has
    /// been delivered (watching the parker's word, no lock), so that a delivery within the
    /// spin costs neither side a futex call.
    @usableFromInline
    package func wait(deadline: UInt64, spinning spin: IdleWait) -> Value? {
        var spin = spin
        _ = spin.spin { !parker.isNotified }
        return wait(deadline: deadline)
    }

    /// Blocks the calling thread (the one this object stands for) until ``deliver(_:)`` has
    /// run, then returns its value.
    @usableFromInline
    package func wait() -> Value {
        while true {
            // A park may also return for an unpark that raced with an earlier check; the
            // slot, not the wake-up, says whether the outcome is there.
            if let value = slot.withLock({ $0.take() }) { return value }
            parker.park()
        }
    }
}

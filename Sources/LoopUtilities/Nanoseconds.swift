import CEventLoop

/// Every timeout and deadline of the package is counted in nanoseconds of `CLOCK_MONOTONIC`
/// (`cel_monotonic_ns`), as the kernel calls that take them (`epoll_pwait2`, futex waits,
/// `poll`) count them.
extension Duration {
    /// The longest span the package waits for: 2^62 ns, about 146 years. Longer durations
    /// are clamped to it, so that a deadline never overflows.
    package static var longestWaitNanoseconds: Int64 { 1 << 62 }

    /// This duration in whole nanoseconds, rounded towards zero, clamped to
    /// `0 ... longestWaitNanoseconds`: zero and negative durations are 0.
    package var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        if seconds >= Self.longestWaitNanoseconds / 1_000_000_000 { return Self.longestWaitNanoseconds }
        return min(seconds * 1_000_000_000 + attoseconds / 1_000_000_000, Self.longestWaitNanoseconds)
    }
}

/// The monotonic clock now, in nanoseconds.
@usableFromInline
package func monotonicNanoseconds() -> UInt64 {
    cel_monotonic_ns()
}

/// The monotonic deadline `delay` after `now`, in nanoseconds: `now` for a zero or negative
/// delay, and never later than `2^62` (see ``Swift/Duration/longestWaitNanoseconds``).
@usableFromInline
package func deadline(after delay: Duration, now: UInt64 = monotonicNanoseconds()) -> UInt64 {
    let limit = UInt64(Duration.longestWaitNanoseconds)
    return min(now &+ UInt64(delay.clampedNanoseconds), limit)
}

/// The monotonic deadline of a `ContinuousClock` instant: the time left until `instant`
/// from now, as ``deadline(after:now:)`` counts it (a past instant is now).
@usableFromInline
package func deadline(at instant: ContinuousClock.Instant) -> UInt64 {
    deadline(after: ContinuousClock.now.duration(to: instant))
}

/// How long a timed wait may last, as the caller gave it: read from the clock only once the
/// wait's fast path has found nothing ready, so that a ready operation pays no clock read.
@usableFromInline
package enum WaitLimit: Sendable {
    case timeout(Duration)
    case deadline(ContinuousClock.Instant)

    /// The monotonic deadline in nanoseconds, from now.
    @inlinable
    package var monotonicDeadline: UInt64 {
        switch self {
        case .timeout(let timeout): LoopUtilities.deadline(after: timeout)
        case .deadline(let instant): LoopUtilities.deadline(at: instant)
        }
    }
}

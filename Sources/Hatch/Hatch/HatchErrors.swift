/// Why a send did not deliver its value; carries the value back so nothing is lost.
public enum HatchSendError<Value: Sendable>: Error {
    /// The slot holds an unreceived value and the sender does not overwrite. An `async`
    /// ``HatchSender/send(_:)`` that is cancelled while it waits for room also ends here.
    case full(Value)
    /// The receiver (or this sender) is closed, or this sender is stale after a recovery.
    /// Nothing more can be sent; ``HatchSender/recover()`` may give a new receiver.
    case closed(Value)

    /// The value that was not sent.
    public var value: Value {
        switch self {
        case .full(let value), .closed(let value): value
        }
    }
}

extension HatchSendError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .full:
            "HatchSendError.full: the hatch already holds a value; receive it first, wait with send, or set overwrites"
        case .closed: "HatchSendError.closed: the hatch is closed; recover() a new receiver to continue"
        }
    }
}

extension HatchSendError: Equatable where Value: Equatable {}

/// A hatch operation ended without a value: the hatch is closed, or the waiting call was
/// cancelled (``isCancellation``; the hatch stays open then).
public struct HatchClosedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// True when the call ended because its task was cancelled, not because of a close.
    public let isCancellation: Bool

    @inlinable init(isCancellation: Bool) { self.isCancellation = isCancellation }

    /// The other side is gone (after handing over every value it sent), or this side is
    /// closed or stale.
    public static let closed = HatchClosedError(isCancellation: false)
    /// The task of a suspended `receive()` or `waitForReceiver()` was cancelled; the hatch
    /// is still usable and no value was consumed.
    public static let cancelled = HatchClosedError(isCancellation: true)

    public var description: String {
        isCancellation
            ? "HatchClosedError.cancelled: the waiting task was cancelled; the hatch is still open"
            : "HatchClosedError.closed: the hatch is closed; recover() a new endpoint to continue"
    }
}

/// Why ``HatchSender/recover()`` or ``HatchReceiver/recover()`` failed.
public enum HatchRecoverError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The other side is still open: there is nothing to recover.
    case live
    /// The calling endpoint itself is closed or stale, so it no longer owns the hatch.
    case closed

    public var description: String {
        switch self {
        case .live: "HatchRecoverError.live: the other endpoint is still open"
        case .closed: "HatchRecoverError.closed: this endpoint is closed and cannot recover the hatch"
        }
    }
}

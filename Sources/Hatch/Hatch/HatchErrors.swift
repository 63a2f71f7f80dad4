/// Why a send did not deliver its value; carries the value back so nothing is lost.
///
/// A send that was cancelled while it waited ends with ``cancelled(_:)``: cancellation of a
/// call that must hand a value back surfaces as its send error, while a cancelled wait that
/// has nothing to hand back (``HatchReceiver/receive()``, ``HatchSender/waitForReceiver()``,
/// ``MultishotReceiver/receive()``) throws `CancellationError`.
public enum HatchSendError<Value: Sendable>: Error {
    /// The slot holds an unreceived value and the sender does not overwrite
    /// (``HatchSender/trySend(_:)``).
    case full(Value)
    /// The receiver (or this sender) is closed, or this sender is stale after a recovery.
    /// Nothing more can be sent; ``HatchSender/recover()`` may give a new receiver.
    case closed(Value)
    /// The task of an `async` ``HatchSender/send(_:)`` was cancelled while the call waited
    /// for room: nothing was sent, and the hatch is unchanged and still open.
    case cancelled(Value)

    /// The value that was not sent.
    public var value: Value {
        switch self {
        case .full(let value), .closed(let value), .cancelled(let value): value
        }
    }
}

extension HatchSendError: CustomStringConvertible {
    /// What went wrong and what to do about it, naming the case.
    public var description: String {
        switch self {
        case .full:
            "HatchSendError.full: the hatch already holds a value; receive it first, wait with send, or set overwrites"
        case .closed: "HatchSendError.closed: the hatch is closed; recover() a new receiver to continue"
        case .cancelled:
            "HatchSendError.cancelled: the task was cancelled while send waited for room; the hatch is still open"
        }
    }
}

extension HatchSendError: Equatable where Value: Equatable {}

/// The endpoint you receive from will deliver nothing (more): the hatch, oneshot or
/// multishot round is closed.
///
/// Thrown by ``HatchReceiver/receive()`` and ``HatchReceiver/tryReceive()`` (the sender is
/// gone after handing over every value it sent, or this receiver is closed or stale), by
/// ``HatchSender/waitForReceiver()`` (no receive can come any more: either side is closed,
/// or this sender is stale) and by ``MultishotReceiver/receive()`` (this round's sender was
/// released without sending, or no sender was made). A cancelled wait throws
/// `CancellationError` instead, never this error.
public struct HatchClosedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Whether this is the deprecated ``cancelled`` value (see ``isCancellation``).
    @usableFromInline let cancellation: Bool

    @inlinable init(cancellation: Bool) { self.cancellation = cancellation }

    /// The hatch or round is closed; recover a new endpoint (a hatch) or make a new sender
    /// (``MultishotReceiver/sender()``) to continue.
    public static let closed = HatchClosedError(cancellation: false)

    /// Formerly thrown by a cancelled wait; no longer thrown, since a cancelled wait throws
    /// `CancellationError`. The one exception is the deprecated ``MultishotReceiver/recv()``,
    /// which keeps its old contract until it is removed.
    @available(*, deprecated, message: "a cancelled wait throws CancellationError; catch that instead")
    public static let cancelled = HatchClosedError(cancellation: true)

    /// True only for the deprecated ``cancelled`` value, which is no longer thrown (a
    /// cancelled wait throws `CancellationError`; see ``cancelled``); false for ``closed``.
    @available(*, deprecated, message: "a cancelled wait throws CancellationError; catch that instead")
    public var isCancellation: Bool { cancellation }

    /// What went wrong and what to do about it, naming the value.
    public var description: String {
        cancellation
            ? "HatchClosedError.cancelled: the waiting task was cancelled; the hatch is still open"
            : "HatchClosedError.closed: nothing more will be received; recover() a new endpoint or make a new sender"
    }
}

/// Why ``HatchSender/recover()`` or ``HatchReceiver/recover()`` failed.
public enum HatchRecoverError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The other side is still open: there is nothing to recover.
    case live
    /// The calling endpoint itself is closed or stale, so it no longer owns the hatch.
    case closed

    /// What went wrong, naming the case.
    public var description: String {
        switch self {
        case .live: "HatchRecoverError.live: the other endpoint is still open"
        case .closed: "HatchRecoverError.closed: this endpoint is closed and cannot recover the hatch"
        }
    }
}

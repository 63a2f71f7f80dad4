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
    /// A send with a timeout or a deadline (``HatchSender/send(_:timeout:)``,
    /// ``HatchSender/send(_:deadline:)``, ``HatchSender/sendSync(_:timeout:)``) found the slot
    /// still full when it expired: nothing was sent, and the hatch is unchanged and still open.
    /// Neither a close nor a cancellation, which keep their own cases.
    case timedOut(Value)
    /// A blocking send (``HatchSender/sendSync(_:)``, ``HatchSender/sendSync(_:timeout:)``) was
    /// called on a thread that runs a dispatcher's loop and would have had to wait for room:
    /// blocking there would stall every task of that loop. Nothing was sent. Call the `async`
    /// ``HatchSender/send(_:)`` from a task, or `sendSync` from a plain thread.
    case wouldBlockLoop(Value)

    /// The value that was not sent.
    public var value: Value {
        switch self {
        case .full(let value), .closed(let value), .cancelled(let value), .timedOut(let value),
            .wouldBlockLoop(let value):
            value
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
        case .timedOut:
            "HatchSendError.timedOut: the slot was still full at the timeout or deadline; the hatch is still open"
        case .wouldBlockLoop:
            "HatchSendError.wouldBlockLoop: sendSync would stall the event loop running on this thread; "
                + "call send(_:) from a task, or sendSync from a plain thread"
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
/// released without sending, or no sender was made), and for the same reasons by the timed
/// and blocking receives (`receive(timeout:)`, `receive(deadline:)`, `receiveSync()`,
/// `receiveSync(timeout:)`). A cancelled wait throws `CancellationError` instead, never this
/// error, and a timeout ``HatchWaitError/timedOut``.
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

/// Why a receive with a timeout or a blocking receive ended without a value, when the
/// hatch or round was neither closed nor the task cancelled: the wait reached its limit
/// (``timedOut``), or it would have parked a thread that runs a loop (``wouldBlockLoop``).
///
/// Thrown by ``HatchReceiver/receive(timeout:)``, ``HatchReceiver/receive(deadline:)``,
/// ``HatchReceiver/receiveSync()``, ``HatchReceiver/receiveSync(timeout:)`` and the same four
/// calls of ``MultishotReceiver``. A closed hatch or round throws ``HatchClosedError`` and a
/// cancelled wait `CancellationError`, never this error. Sends, which must hand their value
/// back, report the same two outcomes as ``HatchSendError/timedOut(_:)`` and
/// ``HatchSendError/wouldBlockLoop(_:)``.
///
/// A struct with static members, so that reasons can be added later: compare with them
/// (`error == .timedOut`), and give a `switch` over them a default.
public struct HatchWaitError: Error, Hashable, Sendable, CustomStringConvertible {
    @usableFromInline
    enum Code: UInt8, Sendable {
        case timedOut
        case wouldBlockLoop
    }

    @usableFromInline
    let code: Code

    @inlinable
    init(_ code: Code) { self.code = code }

    /// The wait reached its timeout or deadline first. Nothing was received: a value that
    /// arrives later stays in the hatch (or round) for the next receive, which may also be
    /// made after this error.
    public static let timedOut = HatchWaitError(.timedOut)

    /// A blocking receive (`receiveSync()`, `receiveSync(timeout:)`) was made on a thread that
    /// runs a dispatcher's loop, and would have had to wait: parking there would stall every
    /// task of the loop, often forever (the value would come from one of them). Nothing was
    /// received. Call `receive()` from a task, or make the blocking call from a plain thread.
    public static let wouldBlockLoop = HatchWaitError(.wouldBlockLoop)

    /// What went wrong and what to do about it, naming the value.
    public var description: String {
        switch code {
        case .timedOut:
            "HatchWaitError.timedOut: nothing arrived before the timeout or deadline; a later value stays for the "
                + "next receive"
        case .wouldBlockLoop:
            "HatchWaitError.wouldBlockLoop: a blocking receive would stall the event loop running on this thread; "
                + "call receive() from a task, or receiveSync from a plain thread"
        }
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

/// Why a channel operation failed.
///
/// Receives throw it directly (``closed``, ``timedOut`` from a receive with a timeout,
/// ``wouldBlockLoop`` from a `receiveSync()` on a loop thread, and ``invalidMaxCount`` from a
/// batch receive asked for fewer than one element), and so does ``BoundedAsyncChannel/init(capacity:)`` (``invalidCapacity``);
/// sends throw it as the ``ChannelSendError/reason`` of a ``ChannelSendError``, which hands
/// the element back. A cancelled receive throws
/// `CancellationError`, never a `ChannelError`.
///
/// Compare with the static members: `error == .closed`. New reasons may be added later,
/// so a `switch` over them needs a default.
public struct ChannelError: Error, Hashable, Sendable, CustomStringConvertible {
    @usableFromInline
    enum Code: UInt8, Sendable {
        case closed
        case full
        case cancelled
        case invalidCapacity
        case wouldBlockLoop
        case timedOut
        case invalidMaxCount
    }

    @usableFromInline
    let code: Code

    @inlinable
    init(_ code: Code) { self.code = code }

    /// The channel is closed. A receive throws it once the channel is also drained (elements
    /// queued before `close()` are still delivered); a send throws it (inside
    /// ``ChannelSendError``) as soon as the channel is closed.
    public static let closed = ChannelError(.closed)

    /// A bounded channel is at capacity; `trySend` did not wait for room. Receive
    /// something, use the suspending `send`, or the blocking `sendSync`.
    public static let full = ChannelError(.full)

    /// The sending task was cancelled while it waited for room in a bounded channel; the
    /// element was not sent. Only ever a ``ChannelSendError/reason``, never thrown on its
    /// own: a cancelled receive throws `CancellationError` instead.
    public static let cancelled = ChannelError(.cancelled)

    /// A bounded channel was created with a negative capacity. Use 0 for a rendezvous channel,
    /// or the number of elements it may queue.
    public static let invalidCapacity = ChannelError(.invalidCapacity)

    /// A blocking call (`receiveSync()`, or a bounded channel's `sendSync(_:)`) was made on a
    /// thread that runs a dispatcher's loop, and would have had to wait: blocking there would
    /// stall every task of the loop, often forever. Nothing was received or sent (a send
    /// hands its element back). Call `receive()` or `send(_:)` from a task instead, or make
    /// the blocking call from a plain thread.
    public static let wouldBlockLoop = ChannelError(.wouldBlockLoop)

    /// A wait with a timeout or a deadline (`receive(timeout:)`, `receiveSync(timeout:)`, a
    /// bounded channel's `send(_:timeout:)`, `sendSync(_:timeout:)` and their deadline forms)
    /// reached it first. Nothing was received or sent: an element that arrives later stays in
    /// the channel for the next receive, and a send hands its element back. Neither a closure
    /// nor a cancellation, which keep their own errors.
    public static let timedOut = ChannelError(.timedOut)

    /// A batch receive (`receive(upTo:into:)`, `receiveSync(upTo:into:)` and their timeout
    /// forms) was asked for fewer than one element. Nothing was received. Pass a `maxCount`
    /// of 1 or more: the most elements one call may append.
    public static let invalidMaxCount = ChannelError(.invalidMaxCount)

    /// One sentence saying what went wrong, for logs and test failures.
    public var description: String {
        switch code {
        case .closed: "the channel is closed (and, for a receive, has no elements left)"
        case .full: "the bounded channel is full; wait with send(_:) or sendSync(_:), or receive first"
        case .cancelled: "the sending task was cancelled before the channel had room; the element was not sent"
        case .invalidCapacity: "a bounded channel needs a capacity of 0 (a rendezvous) or more"
        case .wouldBlockLoop:
            "a blocking call would stall the event loop running on this thread; call receive() or send(_:) "
                + "from a task, or call receiveSync/sendSync from a plain thread"
        case .timedOut: "the wait reached its timeout or deadline first; nothing was received or sent"
        case .invalidMaxCount: "a batch receive needs a maxCount of at least 1; nothing was received"
        }
    }
}

/// A send that did not happen. It hands the element back so that the caller can retry it,
/// route it elsewhere or dispose of it.
public struct ChannelSendError<Element: Sendable>: Error {
    /// The element that was not sent.
    public var element: Element
    /// Why: ``ChannelError/closed``, ``ChannelError/full`` (only `trySend`),
    /// ``ChannelError/cancelled`` (only the suspending `send` of a bounded channel, when its
    /// task is cancelled while it waits for room), ``ChannelError/timedOut`` (a bounded send
    /// with a timeout or deadline that passed first) or ``ChannelError/wouldBlockLoop`` (only
    /// `sendSync` of a bounded channel, full, on a thread that runs a loop).
    public var reason: ChannelError

    /// Creates an error for `element` that failed for `reason`.
    @inlinable
    public init(element: Element, reason: ChannelError) {
        self.element = element
        self.reason = reason
    }
}

extension ChannelSendError: CustomStringConvertible {
    /// "send failed: " and the reason's description, for logs and test failures.
    public var description: String { "send failed: \(reason)" }
}

public import EventLoop
public import LoopUtilities

/// The entry a channel keeps for one waiting receiver: a suspended task, a blocked plain
/// thread, or a select's receive case. Whoever removes it from the channel's queue, under
/// the lock, resumes it once, after the lock is released.
///
/// A select's entry may belong to a select that already ended another way: whoever would
/// complete it first claims the select (``claimForCompletion()``, under the lock) and drops
/// the entry when the claim fails. Select entries carry id 0, which no timed or cancelled
/// plain wait uses, so only their select removes them.
@usableFromInline
enum ReceiveWaiter<Element: Sendable>: Sendable {
    case task(UnsafeContinuation<Element, any Error>)
    case thread(BlockedThread<Result<Element, ChannelError>>)
    case select(_SelectWaiter, case: Int)

    /// Resumes the waiter with an element. Call outside the channel's lock; a select's entry
    /// only after ``claimForCompletion()`` returned true.
    @inlinable
    func resume(returning element: Element) {
        switch self {
        case .task(let continuation): continuation.resume(returning: element)
        case .thread(let thread): thread.deliver(.success(element))
        case .select(let select, let index):
            select.finishClaim(case: index, payload: element)
            select.wake()
        }
    }

    /// Resumes the waiter with the closed error; a select's case is chosen with its source
    /// closed, unless the select already ended. Call outside the channel's lock.
    @inlinable
    func resumeClosed() {
        switch self {
        case .task(let continuation): continuation.resume(throwing: ChannelError.closed)
        case .thread(let thread): thread.deliver(.failure(.closed))
        case .select(let select, let index):
            if select.claim(case: index, payload: nil) { select.wake() }
        }
    }

    /// Whether the waiter's operation may be completed now: always for a task or a thread;
    /// for a select, whether this call claimed it (the claim stays busy until the entry is
    /// resumed). Under the channel's lock.
    @inlinable
    func claimForCompletion() -> Bool {
        guard case .select(let select, _) = self else { return true }
        return select.beginClaim()
    }

    /// Whether this is an entry of `waiter`'s select.
    @inlinable
    func belongs(to waiter: _SelectWaiter) -> Bool {
        guard case .select(let select, _) = self else { return false }
        return select === waiter
    }

    /// The select this entry belongs to; nil for a task or a thread.
    @inlinable
    var selectWaiter: _SelectWaiter? {
        guard case .select(let select, _) = self else { return nil }
        return select
    }

    /// Resumes the waiter with the timed-out error: its timeout removed it. Call outside the
    /// channel's lock.
    @usableFromInline
    func resumeTimedOut() {
        switch self {
        case .task(let continuation): continuation.resume(throwing: ChannelError.timedOut)
        case .thread(let thread): thread.deliver(.failure(.timedOut))
        case .select: preconditionFailure("a select's entry is never timed out by its source")
        }
    }

    /// Resumes a task's waiter with `CancellationError`. Call outside the channel's lock,
    /// only for an entry whose cancellation removed it: a blocked thread is never cancelled.
    @usableFromInline
    func resumeCancelled() {
        guard case .task(let continuation) = self else {
            preconditionFailure("a blocked thread's receive cannot be cancelled")
        }
        continuation.resume(throwing: CancellationError())
    }
}

/// The entry a bounded channel keeps for one sender waiting for room: a suspended task, a
/// blocked plain thread, or a select's send case. Its element waits in the state machine,
/// not here. Select entries follow the rules of ``ReceiveWaiter``'s.
@usableFromInline
enum SendWaiter<Element: Sendable>: Sendable {
    case task(UnsafeContinuation<Result<Void, ChannelSendError<Element>>, Never>)
    case thread(BlockedThread<Result<Void, ChannelSendError<Element>>>)
    case select(_SelectWaiter, case: Int)

    /// Resumes the waiter: its element went in (success), or it failed and gets its element
    /// back. Call outside the channel's lock. A select's entry is resumed only with success,
    /// after ``claimForCompletion()`` returned true; a close resumes it with
    /// ``resumeClosed(_:)``.
    @inlinable
    func resume(_ result: Result<Void, ChannelSendError<Element>>) {
        switch self {
        case .task(let continuation): continuation.resume(returning: result)
        case .thread(let thread): thread.deliver(result)
        case .select(let select, let index):
            select.finishClaim(case: index, payload: true)
            select.wake()
        }
    }

    /// Fails the waiter because the channel closed, handing `element` back; a select's case
    /// is chosen with the channel closed (its handler gets false), unless the select already
    /// ended. Call outside the channel's lock.
    @inlinable
    func resumeClosed(_ element: Element) {
        switch self {
        case .task, .thread: resume(.failure(ChannelSendError(element: element, reason: .closed)))
        case .select(let select, let index):
            if select.claim(case: index, payload: false) { select.wake() }
        }
    }

    /// As ``ReceiveWaiter/claimForCompletion()``.
    @inlinable
    func claimForCompletion() -> Bool {
        guard case .select(let select, _) = self else { return true }
        return select.beginClaim()
    }

    /// Whether this is an entry of `waiter`'s select.
    @inlinable
    func belongs(to waiter: _SelectWaiter) -> Bool {
        guard case .select(let select, _) = self else { return false }
        return select === waiter
    }

    /// The select this entry belongs to; nil for a task or a thread.
    @inlinable
    var selectWaiter: _SelectWaiter? {
        guard case .select(let select, _) = self else { return nil }
        return select
    }
}

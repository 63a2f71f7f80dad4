public import LoopUtilities

/// The entry a channel keeps for one waiting receiver: a suspended task or a blocked plain
/// thread. Whoever removes it from the channel's queue, under the lock, resumes it once,
/// after the lock is released.
@usableFromInline
enum ReceiveWaiter<Element: Sendable>: Sendable {
    case task(UnsafeContinuation<Element, any Error>)
    case thread(BlockedThread<Result<Element, ChannelError>>)

    /// Resumes the waiter with an element. Call outside the channel's lock.
    @inlinable
    func resume(returning element: Element) {
        switch self {
        case .task(let continuation): continuation.resume(returning: element)
        case .thread(let thread): thread.deliver(.success(element))
        }
    }

    /// Resumes the waiter with the closed error. Call outside the channel's lock.
    @inlinable
    func resumeClosed() {
        switch self {
        case .task(let continuation): continuation.resume(throwing: ChannelError.closed)
        case .thread(let thread): thread.deliver(.failure(.closed))
        }
    }

    /// Resumes the waiter with the timed-out error: its timeout removed it. Call outside the
    /// channel's lock.
    @usableFromInline
    func resumeTimedOut() {
        switch self {
        case .task(let continuation): continuation.resume(throwing: ChannelError.timedOut)
        case .thread(let thread): thread.deliver(.failure(.timedOut))
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

/// The entry a bounded channel keeps for one sender waiting for room: a suspended task or a
/// blocked plain thread. Its element waits in the state machine, not here.
@usableFromInline
enum SendWaiter<Element: Sendable>: Sendable {
    case task(UnsafeContinuation<Result<Void, ChannelSendError<Element>>, Never>)
    case thread(BlockedThread<Result<Void, ChannelSendError<Element>>>)

    /// Resumes the waiter. Call outside the channel's lock.
    @inlinable
    func resume(_ result: Result<Void, ChannelSendError<Element>>) {
        switch self {
        case .task(let continuation): continuation.resume(returning: result)
        case .thread(let thread): thread.deliver(result)
        }
    }
}

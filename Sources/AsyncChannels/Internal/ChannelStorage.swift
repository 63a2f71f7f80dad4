public import LoopUtilities
public import Synchronization

/// A waiting receiver: a suspended task or a blocked plain thread.
@usableFromInline
enum ReceiveWaiter<Element: Sendable>: Sendable {
    case task(UnsafeContinuation<Element, any Error>)
    case thread(ThreadWaiter<Result<Element, ChannelError>>)

    /// Resumes the waiter with an element. Call outside the channel's lock.
    @inlinable
    func resume(returning element: Element) {
        switch self {
        case .task(let continuation): continuation.resume(returning: element)
        case .thread(let waiter): waiter.deliver(.success(element))
        }
    }

    /// Resumes the waiter with the closed error. Call outside the channel's lock.
    @inlinable
    func resumeClosed() {
        switch self {
        case .task(let continuation): continuation.resume(throwing: ChannelError.closed)
        case .thread(let waiter): waiter.deliver(.failure(.closed))
        }
    }
}

/// A sender waiting for room in a bounded channel: a suspended task or a blocked thread.
/// Its element waits in the state machine, not here.
@usableFromInline
enum SendWaiter<Element: Sendable>: Sendable {
    case task(UnsafeContinuation<Result<Void, ChannelSendError<Element>>, Never>)
    case thread(ThreadWaiter<Result<Void, ChannelSendError<Element>>>)

    /// Resumes the waiter. Call outside the channel's lock.
    @inlinable
    func resume(_ result: Result<Void, ChannelSendError<Element>>) {
        switch self {
        case .task(let continuation): continuation.resume(returning: result)
        case .thread(let waiter): waiter.deliver(result)
        }
    }
}

/// The shared core of ``AsyncChannel`` and ``BoundedAsyncChannel``: the state machine
/// behind a lock, and the actions it returns performed after the lock is released, so
/// that no continuation is resumed and no thread is woken while the lock is held.
@usableFromInline
final class ChannelStorage<Element: Sendable>: Sendable {
    @usableFromInline
    typealias Machine = ChannelStateMachine<Element, ReceiveWaiter<Element>, SendWaiter<Element>>

    @usableFromInline
    let state: LockedValue<Machine>

    /// Ids for waiters, so that a cancelled wait finds its own entry. Drawn before the
    /// cancellation handler is installed, so outside the lock. Relaxed: only uniqueness
    /// matters.
    @usableFromInline
    let lastID = Atomic<UInt64>(0)

    @inlinable
    init(capacity: Int) {
        state = LockedValue(Machine(capacity: capacity))
    }

    deinit {
        state.withLock { $0.releaseStorage() }
    }

    @inlinable
    var capacity: Int { state.withLock { $0.capacity } }

    @inlinable
    var count: Int { state.withLock { $0.count } }

    @inlinable
    var isClosed: Bool { state.withLock { $0.isClosed } }

    // MARK: Sending

    /// Sends without waiting: throws `.full` or `.closed` with the element.
    @inlinable
    func trySend(_ element: Element) throws(ChannelSendError<Element>) {
        switch state.withLock({ $0.send(element) }) {
        case .enqueued:
            return
        case .handOff(let element, let receiver):
            receiver.resume(returning: element)
        case .full(let element):
            throw ChannelSendError(element: element, reason: .full)
        case .closed(let element):
            throw ChannelSendError(element: element, reason: .closed)
        }
    }

    /// Sends, suspending the task while the channel is full.
    @inlinable
    nonisolated(nonsending) func send(_ element: Element) async throws(ChannelSendError<Element>) {
        // Fast path: one lock, no suspension, when there is room or a waiting receiver.
        let pending: Element
        switch state.withLock({ $0.send(element) }) {
        case .enqueued:
            return
        case .handOff(let element, let receiver):
            receiver.resume(returning: element)
            return
        case .closed(let element):
            throw ChannelSendError(element: element, reason: .closed)
        case .full(let element):
            pending = element
        }
        let id = lastID.add(1, ordering: .relaxed).newValue

        let result = await withCancellationHandler {
            await withUnsafeContinuation {
                (continuation: UnsafeContinuation<Result<Void, ChannelSendError<Element>>, Never>) in
                // Task.isCancelled is read under the lock that onCancel takes: a cancellation
                // that came first is seen here; one that comes later finds our entry.
                let action = state.withLock {
                    $0.sendOrSuspend(pending, id: id, token: .task(continuation), isCancelled: Task.isCancelled)
                }
                switch action {
                case .suspended:
                    break
                case .enqueued:
                    continuation.resume(returning: .success(()))
                case .handOff(let element, let receiver):
                    receiver.resume(returning: element)
                    continuation.resume(returning: .success(()))
                case .closed(let element):
                    continuation.resume(returning: .failure(ChannelSendError(element: element, reason: .closed)))
                case .cancelled(let element):
                    continuation.resume(returning: .failure(ChannelSendError(element: element, reason: .cancelled)))
                }
            }
        } onCancel: {
            if let (waiter, element) = state.withLock({ $0.cancelSend(id: id) }) {
                waiter.resume(.failure(ChannelSendError(element: element, reason: .cancelled)))
            }
        }
        try result.get()
    }

    /// Sends, blocking the calling thread while the channel is full.
    @inlinable
    func sendSync(_ element: Element) throws(ChannelSendError<Element>) {
        do throws(ChannelSendError<Element>) {
            try trySend(element)
            return
        } catch  where error.reason == .full {
            try sendSyncSlow(error.element)
        }
    }

    @usableFromInline
    func sendSyncSlow(_ element: Element) throws(ChannelSendError<Element>) {
        let waiter = ThreadWaiter<Result<Void, ChannelSendError<Element>>>()
        let id = lastID.add(1, ordering: .relaxed).newValue
        let action = state.withLock { $0.sendOrSuspend(element, id: id, token: .thread(waiter), isCancelled: false) }
        switch action {
        case .suspended:
            try waiter.wait().get()
        case .enqueued:
            return
        case .handOff(let element, let receiver):
            receiver.resume(returning: element)
        case .closed(let element), .cancelled(let element):
            throw ChannelSendError(element: element, reason: .closed)
        }
    }

    // MARK: Receiving

    /// Receives without waiting: nil when empty (or closed and drained).
    @inlinable
    func tryReceive() -> Element? {
        // Closed and drained reads as empty here.
        (try? receiveWithoutWaiting()) ?? nil
    }

    /// Receives without suspending (one lock): the element, or nil when the channel is
    /// empty and open.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained.
    @inlinable
    func receiveWithoutWaiting() throws(ChannelError) -> Element? {
        switch state.withLock({ $0.receive() }) {
        case .element(let element, let sender):
            sender?.resume(.success(()))
            return element
        case .closed:
            throw .closed
        case .empty:
            return nil
        }
    }

    /// The waiting half of `receive()`: registers under the lock (which looks at the
    /// buffer once more) and suspends until a send or close.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receiveWaiting() async throws -> Element {
        let id = lastID.add(1, ordering: .relaxed).newValue
        return try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element, any Error>) in
                // Task.isCancelled is read under the lock that onCancel takes: a cancellation
                // that came first is seen here; one that comes later finds our entry.
                let action = state.withLock {
                    $0.receiveOrSuspend(id: id, token: .task(continuation), isCancelled: Task.isCancelled)
                }
                switch action {
                case .suspended:
                    break
                case .element(let element, let sender):
                    sender?.resume(.success(()))
                    continuation.resume(returning: element)
                case .closed:
                    continuation.resume(throwing: ChannelError.closed)
                case .cancelled:
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            // Only a receiver that still waits holds no element: cancelling it loses nothing.
            // One already resumed with an element keeps it.
            if let waiter = state.withLock({ $0.cancelReceive(id: id) }) {
                if case .task(let continuation) = waiter {
                    continuation.resume(throwing: CancellationError())
                } else {
                    preconditionFailure("a blocked thread's receive cannot be cancelled")
                }
            }
        }
    }

    /// Receives, blocking the calling thread while the channel is empty and open.
    @inlinable
    func receiveSync() throws(ChannelError) -> Element {
        switch state.withLock({ $0.receive() }) {
        case .element(let element, let sender):
            sender?.resume(.success(()))
            return element
        case .closed:
            throw .closed
        case .empty:
            return try receiveSyncSlow()
        }
    }

    @usableFromInline
    func receiveSyncSlow() throws(ChannelError) -> Element {
        let waiter = ThreadWaiter<Result<Element, ChannelError>>()
        let id = lastID.add(1, ordering: .relaxed).newValue
        let action = state.withLock { $0.receiveOrSuspend(id: id, token: .thread(waiter), isCancelled: false) }
        switch action {
        case .suspended:
            return try waiter.wait().get()
        case .element(let element, let sender):
            sender?.resume(.success(()))
            return element
        case .closed, .cancelled:
            throw .closed
        }
    }

    // MARK: Closing

    /// Closes the channel and wakes every waiter; idempotent.
    @inlinable
    func close() {
        guard let action = state.withLock({ $0.close() }) else { return }
        for receiver in action.receivers { receiver.resumeClosed() }
        for (sender, element) in action.senders {
            sender.resume(.failure(ChannelSendError(element: element, reason: .closed)))
        }
    }
}

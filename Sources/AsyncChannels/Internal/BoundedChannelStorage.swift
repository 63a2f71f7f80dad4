public import EventLoop
public import LoopUtilities
public import Synchronization

/// The core of ``BoundedAsyncChannel``: the state machine behind a lock, and the actions it
/// returns performed after the lock is released, so that no continuation is resumed and no
/// thread is woken while the lock is held.
///
/// A wait registers its waiter under the lock without looking at cancellation; after the
/// lock is released (still inside the continuation's closure) it reads `Task.isCancelled`
/// once and, when it is set, runs the same removal as its cancellation handler. A handler
/// that ran before the registration set the flag before it took the lock, so the read
/// after the registration sees it; a handler that runs later finds the entry; a removal
/// that finds nothing (the other one, or a send, receive or close, came first) does nothing.
@usableFromInline
final class BoundedChannelStorage<Element: Sendable>: Sendable {
    @usableFromInline
    typealias Machine = BoundedChannelStateMachine<Element, ReceiveWaiter<Element>, SendWaiter<Element>>

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
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue

        let result = await withCancellationHandler {
            await withUnsafeContinuation {
                (continuation: UnsafeContinuation<Result<Void, ChannelSendError<Element>>, Never>) in
                let action = state.withLock { $0.sendOrSuspend(pending, id: id, token: .task(continuation)) }
                switch action {
                case .suspended:
                    // The one read of the flag, after the registration: see the type's comment.
                    if Task.isCancelled { cancelSend(id: id) }
                case .enqueued:
                    continuation.resume(returning: .success(()))
                case .handOff(let element, let receiver):
                    receiver.resume(returning: element)
                    continuation.resume(returning: .success(()))
                case .closed(let element):
                    continuation.resume(returning: .failure(ChannelSendError(element: element, reason: .closed)))
                }
            }
        } onCancel: {
            cancelSend(id: id)
        }
        try result.get()
    }

    /// Removes a waiting sender and fails it with ``ChannelError/cancelled``, handing its
    /// element back; does nothing when a receive, a close or the other cancellation check
    /// already removed it. Any thread; takes the lock, resumes outside it.
    @usableFromInline
    func cancelSend(id: UInt64) {
        if let (waiter, element) = state.withLock({ $0.cancelSend(id: id) }) {
            waiter.resume(.failure(ChannelSendError(element: element, reason: .cancelled)))
        }
    }

    /// Sends, blocking the calling thread while the channel is full; throws `.wouldBlockLoop`
    /// with the element instead of blocking a thread that runs a loop.
    @inlinable
    func sendSync(_ element: Element) throws(ChannelSendError<Element>) {
        do throws(ChannelSendError<Element>) {
            try trySend(element)
            return
        } catch  where error.reason == .full {
            try sendSyncSlow(error.element)
        }
    }

    /// The blocking half of ``sendSync(_:)``, after `trySend` found the channel full. The
    /// loop-thread check lives here, off the inlined fast path.
    @usableFromInline
    func sendSyncSlow(_ element: Element) throws(ChannelSendError<Element>) {
        // No deadline: the timed wait never gives up.
        try sendSyncSlow(element, deadline: .max)
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

    /// Takes up to `maxCount` (at least 1) queued elements under one lock and appends them
    /// to `buffer`, oldest first; each freed slot takes a waiting sender's element, and those
    /// senders are resumed in the order they waited, after the lock is released (see
    /// ``BoundedChannelStateMachine/receive(upTo:into:)``). How many; 0 when empty and open.
    /// - Throws: `.closed` once closed and drained.
    @inlinable
    func receiveAvailable(upTo maxCount: Int, into buffer: inout [Element]) throws(ChannelError) -> Int {
        switch state.withLock({ $0.receive(upTo: maxCount, into: &buffer) }) {
        case .taken(let count, let senders):
            for sender in senders { sender.resume(.success(())) }
            return count
        case .closed:
            throw .closed
        case .empty:
            return 0
        }
    }

    /// The batch receives' look before they wait: ``receiveAvailable(upTo:into:)``. No spin,
    /// as ``receiveWithoutWaiting()`` has none: a receive that finds the buffer empty waits
    /// under the lock, where a sender hands it an element directly.
    @inlinable
    func receiveAvailable(
        upTo maxCount: Int, into buffer: inout [Element], spinning spin: IdleWait
    ) throws(ChannelError) -> Int {
        try receiveAvailable(upTo: maxCount, into: &buffer)
    }

    /// The waiting half of `receive()`: registers under the lock (which looks at the
    /// buffer once more) and suspends until a send, a close or a cancellation.
    ///
    /// Always inlined into `receive()` and the iterator: as an async frame of its own
    /// between them and the continuation, its return would cost one more executor hop per
    /// wait.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receiveWaiting() async throws -> Element {
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        return try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element, any Error>) in
                switch state.withLock({ $0.receiveOrSuspend(id: id, token: .task(continuation)) }) {
                case .suspended:
                    // The one read of the flag, after the registration: see the type's comment.
                    if Task.isCancelled { cancelReceive(id: id) }
                case .element(let element, let sender):
                    sender?.resume(.success(()))
                    continuation.resume(returning: element)
                case .closed:
                    continuation.resume(throwing: ChannelError.closed)
                }
            }
        } onCancel: {
            cancelReceive(id: id)
        }
    }

    /// Removes a waiting receiver and resumes it with `CancellationError`; does nothing when
    /// a send, a close or the other cancellation check already removed it (a receiver that
    /// was handed an element keeps it). Any thread; takes the lock, resumes outside it.
    @usableFromInline
    func cancelReceive(id: UInt64) {
        state.withLock { $0.cancelReceive(id: id) }?.resumeCancelled()
    }

    /// Receives, blocking the calling thread while the channel is empty and open; throws
    /// `.wouldBlockLoop` instead of blocking a thread that runs a loop.
    @inlinable
    func receiveSync() throws(ChannelError) -> Element {
        if let element = try receiveWithoutWaiting() { return element }
        return try receiveSyncSlow()
    }

    /// The blocking half of ``receiveSync()``, after ``receiveWithoutWaiting()`` found the
    /// channel empty. The loop-thread check lives here, off the inlined fast path.
    @usableFromInline
    func receiveSyncSlow() throws(ChannelError) -> Element {
        // No deadline: the timed wait never gives up.
        try receiveSyncSlow(deadline: .max)
    }

    // MARK: Waiting with a deadline

    /// `receive(timeout:)`: as `receive()`, and a timer armed after the registration removes
    /// the receiver at `deadline` and resumes it with `.timedOut`; cancelled when the wait
    /// ends another way. A ready element is taken before any timer.
    @inlinable
    nonisolated(nonsending) func receive(within limit: WaitLimit) async throws -> Element {
        if let element = try receiveWithoutWaiting() { return element }
        return try await receiveWaiting(deadline: limit.monotonicDeadline)
    }

    @usableFromInline
    nonisolated(nonsending) func receiveWaiting(deadline: UInt64) async throws -> Element {
        guard monotonicNanoseconds() < deadline else {
            if let element = try receiveWithoutWaiting() { return element }
            throw ChannelError.timedOut
        }
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        // Before the registration, so that a timeout thread that cannot start takes nothing.
        let timeouts = try Dispatcher.timeoutDispatcher()
        var timer: Scheduled? = nil
        defer { timer?.cancel() }
        return try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element, any Error>) in
                switch state.withLock({ $0.receiveOrSuspend(id: id, token: .task(continuation)) }) {
                case .suspended:
                    if Task.isCancelled {
                        cancelReceive(id: id)
                        return
                    }
                    timer = timeouts.scheduleTimeout(deadline: deadline) { [self] in
                        state.withLock { $0.cancelReceive(id: id) }?.resumeTimedOut()
                    }
                case .element(let element, let sender):
                    sender?.resume(.success(()))
                    continuation.resume(returning: element)
                case .closed:
                    continuation.resume(throwing: ChannelError.closed)
                }
            }
        } onCancel: {
            cancelReceive(id: id)
        }
    }

    /// `receiveSync(timeout:)`: as `receiveSync()`, giving up at `deadline` with `.timedOut`.
    @inlinable
    func receiveSync(within limit: WaitLimit) throws(ChannelError) -> Element {
        if let element = try receiveWithoutWaiting() { return element }
        return try receiveSyncSlow(deadline: limit.monotonicDeadline)
    }

    /// The blocking half of the receives: parks until an element, a close or `deadline`
    /// (monotonic nanoseconds; `UInt64.max` is none).
    @usableFromInline
    func receiveSyncSlow(deadline: UInt64) throws(ChannelError) -> Element {
        guard !callerRunsALoop(), monotonicNanoseconds() < deadline else {
            guard let element = try receiveWithoutWaiting() else {
                throw callerRunsALoop() ? .wouldBlockLoop : .timedOut
            }
            return element
        }
        let thread = BlockedThread<Result<Element, ChannelError>>()
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        switch state.withLock({ $0.receiveOrSuspend(id: id, token: .thread(thread)) }) {
        case .suspended:
            if let outcome = thread.wait(deadline: deadline, spinning: .forBlockingWait(limit: deadline)) {
                return try outcome.get()
            }
            // Still registered: nobody will deliver. Otherwise a delivery is on the way.
            if state.withLock({ $0.cancelReceive(id: id) }) != nil { throw .timedOut }
            return try thread.wait().get()
        case .element(let element, let sender):
            sender?.resume(.success(()))
            return element
        case .closed:
            throw .closed
        }
    }

    /// `send(_:timeout:)`: as `send(_:)`, and a timer armed after the registration takes the
    /// waiting sender out at `deadline` and hands its element back with `.timedOut`.
    @inlinable
    nonisolated(nonsending) func send(_ element: Element, within limit: WaitLimit) async throws {
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
        try await sendWaiting(pending, deadline: limit.monotonicDeadline)
    }

    @usableFromInline
    nonisolated(nonsending) func sendWaiting(_ pending: Element, deadline: UInt64) async throws {
        guard monotonicNanoseconds() < deadline else {
            throw ChannelSendError(element: pending, reason: .timedOut)
        }
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        // Before the registration, so that a timeout thread that cannot start takes nothing.
        let timeouts = try Dispatcher.timeoutDispatcher()
        var timer: Scheduled? = nil
        defer { timer?.cancel() }
        let result = await withCancellationHandler {
            await withUnsafeContinuation {
                (continuation: UnsafeContinuation<Result<Void, ChannelSendError<Element>>, Never>) in
                let action = state.withLock { $0.sendOrSuspend(pending, id: id, token: .task(continuation)) }
                switch action {
                case .suspended:
                    if Task.isCancelled {
                        cancelSend(id: id)
                        return
                    }
                    timer = timeouts.scheduleTimeout(deadline: deadline) { [self] in
                        timeOutSend(id: id)
                    }
                case .enqueued:
                    continuation.resume(returning: .success(()))
                case .handOff(let element, let receiver):
                    receiver.resume(returning: element)
                    continuation.resume(returning: .success(()))
                case .closed(let element):
                    continuation.resume(returning: .failure(ChannelSendError(element: element, reason: .closed)))
                }
            }
        } onCancel: {
            cancelSend(id: id)
        }
        try result.get()
    }

    /// Takes the waiting sender `id` out, if it is still registered, and hands its element
    /// back with `.timedOut`.
    @usableFromInline
    func timeOutSend(id: UInt64) {
        if let (waiter, element) = state.withLock({ $0.cancelSend(id: id) }) {
            waiter.resume(.failure(ChannelSendError(element: element, reason: .timedOut)))
        }
    }

    /// `sendSync(_:timeout:)`: as `sendSync(_:)`, giving up at `deadline` and handing the
    /// element back with `.timedOut`.
    @inlinable
    func sendSync(_ element: Element, within limit: WaitLimit) throws(ChannelSendError<Element>) {
        do throws(ChannelSendError<Element>) {
            try trySend(element)
        } catch  where error.reason == .full {
            try sendSyncSlow(error.element, deadline: limit.monotonicDeadline)
        }
    }

    /// The blocking half of the sends, after a `trySend` found the channel full: parks until
    /// there is room, a close or `deadline` (monotonic nanoseconds; `UInt64.max` is none).
    @usableFromInline
    func sendSyncSlow(_ pending: Element, deadline: UInt64) throws(ChannelSendError<Element>) {
        if callerRunsALoop() || monotonicNanoseconds() >= deadline {
            do throws(ChannelSendError<Element>) {
                try trySend(pending)
                return
            } catch  where error.reason == .full {
                throw ChannelSendError(element: error.element, reason: callerRunsALoop() ? .wouldBlockLoop : .timedOut)
            }
        }
        let thread = BlockedThread<Result<Void, ChannelSendError<Element>>>()
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        switch state.withLock({ $0.sendOrSuspend(pending, id: id, token: .thread(thread)) }) {
        case .suspended:
            if let outcome = thread.wait(deadline: deadline, spinning: .forBlockingWait(limit: deadline)) {
                return try outcome.get()
            }
            // Still registered: take the element back. Otherwise the outcome is on the way.
            if let (_, element) = state.withLock({ $0.cancelSend(id: id) }) {
                throw ChannelSendError(element: element, reason: .timedOut)
            }
            try thread.wait().get()
        case .enqueued:
            return
        case .handOff(let element, let receiver):
            receiver.resume(returning: element)
        case .closed(let element):
            throw ChannelSendError(element: element, reason: .closed)
        }
    }

    // MARK: Closing

    /// Closes the channel and wakes every waiter; idempotent.
    @inlinable
    func close() {
        guard let action = state.withLock({ $0.close() }) else { return }
        for receiver in action.receivers { receiver.resumeClosed() }
        for (sender, element) in action.senders { sender.resumeClosed(element) }
    }
}

// MARK: Selects

extension BoundedChannelStorage {
    /// A select's receive case polls: the element (and the freed slot goes to a waiting
    /// sender), `.some(nil)` when closed and drained, nil when it would wait.
    @inlinable
    func pollSelectReceive() -> Element?? {
        switch state.withLock({ $0.receive() }) {
        case .element(let element, let sender):
            sender?.resume(.success(()))
            return .some(element)
        case .closed:
            return .some(nil)
        case .empty:
            return nil
        }
    }

    /// A select's receive case registers as case `index` of `waiter`; see
    /// ``BoundedChannelStateMachine/registerSelectReceive(_:token:)``.
    @usableFromInline
    func registerSelectReceive(_ waiter: _SelectWaiter, case index: Int) {
        switch state.withLock({ $0.registerSelectReceive(waiter, token: .select(waiter, case: index)) }) {
        case .decided, .registered:
            return
        case .element(let element, let sender):
            waiter.finishClaim(case: index, payload: element)
            sender?.resume(.success(()))
            waiter.wake()
        case .closed:
            waiter.finishClaim(case: index, payload: nil)
            waiter.wake()
        }
    }

    /// A select's send case polls: true when the element went in (queued or handed to a
    /// waiting receiver), false when the channel is closed, nil when it would wait.
    @inlinable
    func pollSelectSend(_ element: Element) -> Bool? {
        switch state.withLock({ $0.send(element) }) {
        case .enqueued:
            return true
        case .handOff(let element, let receiver):
            receiver.resume(returning: element)
            return true
        case .closed:
            return false
        case .full:
            return nil
        }
    }

    /// A select's send case registers as case `index` of `waiter`; see
    /// ``BoundedChannelStateMachine/registerSelectSend(_:_:token:)``.
    @usableFromInline
    func registerSelectSend(_ element: Element, _ waiter: _SelectWaiter, case index: Int) {
        switch state.withLock({ $0.registerSelectSend(element, waiter, token: .select(waiter, case: index)) }) {
        case .decided, .registered:
            return
        case .handOff(let element, let receiver):
            waiter.finishClaim(case: index, payload: true)
            receiver.resume(returning: element)
            waiter.wake()
        case .enqueued:
            waiter.finishClaim(case: index, payload: true)
            waiter.wake()
        case .closed:
            waiter.finishClaim(case: index, payload: false)
            waiter.wake()
        }
    }

    /// Removes every entry of `waiter`'s select, receivers and senders.
    @usableFromInline
    func unregisterSelect(_ waiter: _SelectWaiter) {
        state.withLock { machine in
            machine.removeEntries(
                receivers: { $0.belongs(to: waiter) },
                senders: { $0.belongs(to: waiter) }
            )
        }
    }
}

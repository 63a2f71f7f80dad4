// LoopUtilities for `WaitLimit`, the timed waits' limit, named in inlinable bodies.
public import LoopUtilities

/// A multi-producer, multi-consumer FIFO channel that holds at most `capacity` elements:
/// ``AsyncChannel`` with backpressure.
///
/// When the channel is full, ``send(_:)`` suspends the sending task, ``sendSync(_:)``
/// blocks the sending thread, and ``trySend(_:)`` fails at once with the element handed
/// back. Each receive makes room for the longest-waiting sender. Receiving, closing and
/// the close on release of the last reference work as on ``AsyncChannel``. With capacity 0
/// the channel is a rendezvous: each send waits until a receiver takes its element.
///
/// ```swift
/// let jobs = try BoundedAsyncChannel<Int>(capacity: 64)
/// try await jobs.send(1)        // suspends while 64 jobs wait
/// let job = try await jobs.receive()
/// ```
///
/// Cancellation: a receive whose task is cancelled while it waits throws
/// `CancellationError` and has changed nothing; a send whose task is cancelled while it
/// waits for room throws ``ChannelSendError`` with reason ``ChannelError/cancelled`` and
/// hands its element back.
public final class BoundedAsyncChannel<Element: Sendable>: Sendable {
    @usableFromInline
    let storage: BoundedChannelStorage<Element>

    /// Creates an empty, open channel that holds at most `capacity` elements. Callable from
    /// any thread.
    /// - Parameter capacity: the most elements the channel queues; 0 makes a rendezvous
    ///   channel (Go's unbuffered channel): nothing is queued, and a send completes only when
    ///   a receiver takes its element (``trySend(_:)`` succeeds only while a receiver waits).
    /// - Throws: ``ChannelError/invalidCapacity`` when `capacity` is negative.
    @inlinable
    public init(capacity: Int) throws(ChannelError) {
        guard capacity >= 0 else { throw .invalidCapacity }
        storage = BoundedChannelStorage(capacity: capacity)
    }

    /// Releasing the last reference to the channel closes it, as ``close()`` does: no one
    /// can send any more, so `for await` loops over it (whose iterators keep only the
    /// queue alive) receive what is queued and then end, instead of waiting for ever.
    /// Elements still queued when the last iterator goes are released with the queue.
    deinit {
        storage.close()
    }

    /// The most elements the channel queues. Callable from any thread.
    @inlinable
    public var capacity: Int { storage.capacity }

    /// Appends an element, suspending the task while the channel is full.
    ///
    /// Returns without suspending when there is room or a receiver waits. Waiting senders
    /// get room in the order they started waiting. Callable from any task; runs on the
    /// caller's executor and never hops.
    /// - Parameter element: the element to send.
    /// - Throws: ``ChannelSendError``, handing `element` back, with reason
    ///   ``ChannelError/closed`` when the channel is closed before the element got in, or
    ///   ``ChannelError/cancelled`` when the task is cancelled while it waits for room.
    /// - Cancellation: a cancelled wait for room throws ``ChannelSendError`` with reason
    ///   ``ChannelError/cancelled`` and hands `element` back; nothing was sent. A send that
    ///   already got in returns normally; one that finds room does not wait and sends even
    ///   in a cancelled task.
    @inlinable
    public nonisolated(nonsending) func send(_ element: Element) async throws(ChannelSendError<Element>) {
        try await storage.send(element)
    }

    /// Appends an element if there is room, without waiting.
    ///
    /// Callable from any thread or task; never blocks or suspends, and task cancellation
    /// does not affect it.
    /// - Parameter element: the element to send.
    /// - Throws: ``ChannelSendError``, handing `element` back, with reason
    ///   ``ChannelError/full`` or ``ChannelError/closed``.
    @inlinable
    public func trySend(_ element: Element) throws(ChannelSendError<Element>) {
        try storage.trySend(element)
    }

    /// Appends an element, blocking the calling thread while the channel is full.
    ///
    /// For plain threads. Must not be called on a thread that runs a loop now (a task or
    /// closure on a `LoopThread`, on a thread dispatcher inside `run()` or `waitFor(_:)`, or
    /// on a shut-down dispatcher's fallback queue): where it would have to wait for room, it
    /// throws at once with reason ``ChannelError/wouldBlockLoop`` instead of stalling the
    /// loop; with room it sends there as anywhere. Use ``send(_:)`` from a task. From a task
    /// on the global executor it blocks a thread of the shared pool: use ``send(_:)`` there
    /// too. A blocked thread cannot be cancelled; a receive (room) or ``close()`` wakes it.
    /// - Parameter element: the element to send.
    /// - Throws: ``ChannelSendError``, handing `element` back, with reason
    ///   ``ChannelError/closed`` when the channel is closed before the element got in, or
    ///   ``ChannelError/wouldBlockLoop`` when the channel is full and the calling thread
    ///   runs a loop.
    @inlinable
    public func sendSync(_ element: Element) throws(ChannelSendError<Element>) {
        try storage.sendSync(element)
    }

    /// Removes and returns the oldest element, suspending while the channel is empty; makes
    /// room for one waiting sender.
    ///
    /// Returns at once, without suspending, when an element is queued. Callable from any
    /// task; runs on the caller's executor and never hops.
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained;
    ///   `CancellationError` when the task is cancelled while it waits.
    /// - Cancellation: a cancelled wait throws `CancellationError` and has changed nothing:
    ///   the element it did not take stays in the channel. A receive that was already
    ///   handed an element returns it; one that finds an element queued does not wait and
    ///   returns it even in a cancelled task.
    @inlinable
    public nonisolated(nonsending) func receive() async throws -> Element {
        try await storage.receive()
    }

    /// Removes and returns the oldest element if there is one, without waiting, and says
    /// whether an empty channel is still open; makes room for one waiting sender (at
    /// capacity 0, takes a waiting sender's element).
    ///
    /// ``tryReceive()`` returns nil both when the channel is empty and when it is closed and
    /// drained; this tells the two apart in one step, without a second, racing look at
    /// ``isClosed``. Callable from any thread or task; never blocks or suspends, and task
    /// cancellation does not affect it.
    /// - Returns: ``TryReceiveResult/element(_:)`` with the element,
    ///   ``TryReceiveResult/empty`` when nothing is queued and the channel is open, or
    ///   ``TryReceiveResult/closed`` when it is closed and drained.
    @inlinable
    public func tryReceiveResult() -> TryReceiveResult<Element> {
        switch storage.pollSelectReceive() {
        case .some(.some(let element)): .element(element)
        case .some(.none): .closed
        case .none: .empty
        }
    }

    /// Removes and returns the oldest element if there is one, without waiting; makes room
    /// for one waiting sender.
    ///
    /// Callable from any thread or task; never blocks or suspends, and task cancellation
    /// does not affect it.
    /// - Returns: the element, or nil when the channel is empty (open or closed).
    @inlinable
    public func tryReceive() -> Element? {
        storage.tryReceive()
    }

    /// Removes and returns the oldest element, blocking the calling thread while the channel
    /// is empty; makes room for one waiting sender.
    ///
    /// For plain threads. Must not be called on a thread that runs a loop now (a task or
    /// closure on a `LoopThread`, on a thread dispatcher inside `run()` or `waitFor(_:)`, or
    /// on a shut-down dispatcher's fallback queue): where it would have to wait, it throws
    /// ``ChannelError/wouldBlockLoop`` at once instead of stalling the loop; an element
    /// already queued is returned there as anywhere. Use ``receive()`` from a task. From a
    /// task on the global executor it blocks a thread of the shared pool: use ``receive()``
    /// there too. A blocked thread cannot be cancelled; ``close()`` wakes it.
    ///
    /// Once registered as a waiter, the thread spins as its `IdlePolicy.currentThread`
    /// allows before it parks, so that an element handed over meanwhile costs neither side
    /// a futex call. `sendSync(_:)` waits for room the same way.
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained;
    ///   ``ChannelError/wouldBlockLoop`` when the channel is empty and open and the calling
    ///   thread runs a loop.
    @inlinable
    public func receiveSync() throws(ChannelError) -> Element {
        try storage.receiveSync()
    }

    // MARK: Waiting with a timeout

    /// Appends `element`, suspending while the channel is full, for at most `timeout`.
    ///
    /// As ``send(_:)``; when there is room or a waiting receiver it returns at once, with no
    /// timer. A wait arms one timer (on the caller's loop, or on a shared timeout thread off
    /// any loop), cancelled as soon as the wait ends another way.
    /// - Throws: ``ChannelSendError`` with the element handed back and reason
    ///   ``ChannelError/timedOut`` (the channel stayed full until `timeout`),
    ///   ``ChannelError/closed`` or ``ChannelError/cancelled`` (the task was cancelled while
    ///   it waited); `LoopError` when the shared timeout thread cannot be started.
    @inlinable
    public nonisolated(nonsending) func send(_ element: Element, timeout: Duration) async throws {
        try await storage.send(element, within: .timeout(timeout))
    }

    /// ``send(_:timeout:)`` with the time left until `deadline`.
    @inlinable
    public nonisolated(nonsending) func send(_ element: Element, deadline: ContinuousClock.Instant) async throws {
        try await storage.send(element, within: .deadline(deadline))
    }

    /// Appends `element`, blocking the calling thread while the channel is full, for at most
    /// `timeout`.
    /// - Throws: ``ChannelSendError`` with the element and reason ``ChannelError/timedOut``,
    ///   ``ChannelError/closed``, or ``ChannelError/wouldBlockLoop`` (full, on a thread that
    ///   runs a dispatcher's loop: it does not wait there).
    @inlinable
    public func sendSync(_ element: Element, timeout: Duration) throws(ChannelSendError<Element>) {
        try storage.sendSync(element, within: .timeout(timeout))
    }

    /// Removes and returns the oldest element, suspending while the channel is empty, for at
    /// most `timeout`; as ``AsyncChannel/receive(timeout:)``.
    /// - Throws: ``ChannelError/timedOut`` (nothing taken), ``ChannelError/closed`` once
    ///   closed and drained, `CancellationError`, or `LoopError` when the shared timeout
    ///   thread cannot be started.
    @inlinable
    public nonisolated(nonsending) func receive(timeout: Duration) async throws -> Element {
        try await storage.receive(within: .timeout(timeout))
    }

    /// ``receive(timeout:)`` with the time left until `deadline`.
    @inlinable
    public nonisolated(nonsending) func receive(deadline: ContinuousClock.Instant) async throws -> Element {
        try await storage.receive(within: .deadline(deadline))
    }

    /// Removes and returns the oldest element, blocking the calling thread while the channel
    /// is empty, for at most `timeout`.
    /// - Throws: ``ChannelError/timedOut`` (nothing taken), ``ChannelError/closed``, or
    ///   ``ChannelError/wouldBlockLoop`` on a thread that runs a dispatcher's loop.
    @inlinable
    public func receiveSync(timeout: Duration) throws(ChannelError) -> Element {
        try storage.receiveSync(within: .timeout(timeout))
    }

    /// Closes the channel: later sends fail, queued elements stay receivable, every waiting
    /// receiver wakes with ``ChannelError/closed``, and every waiting sender (task or thread)
    /// fails with ``ChannelError/closed`` and gets its element back.
    ///
    /// Idempotent; callable from any thread or task; never blocks or suspends.
    @inlinable
    public func close() {
        storage.close()
    }

    /// Whether ``close()`` has been called. A snapshot; callable from any thread.
    @inlinable
    public var isClosed: Bool { storage.isClosed }

    /// The number of elements queued now (at most ``capacity``). A snapshot; callable from
    /// any thread.
    @inlinable
    public var count: Int { storage.count }
}

// MARK: Receiving in batches

extension BoundedAsyncChannel {
    /// Removes up to `maxCount` of the oldest elements and appends them to `buffer`, oldest first,
    /// suspending while the channel is empty; returns how many it appended.
    ///
    /// Like tokio's `recv_many`: a consumer that falls behind its producers takes what has queued
    /// up in one call (one lock), and one that keeps up gets what a single ``receive()`` gets. It
    /// never waits for more than one element: when the channel is empty it waits exactly as
    /// ``receive()`` does, then appends whatever else is queued by then. Taking `k` elements frees
    /// `k` slots: up to `k` waiting senders get in, in the order they started waiting, and are
    /// resumed. Elements already in `buffer` are kept; reuse one buffer
    /// (`removeAll(keepingCapacity: true)`) to receive without allocating. Callable from any task;
    /// runs on the caller's executor and never hops.
    /// - Parameters:
    ///   - maxCount: the most elements to append; at least 1.
    ///   - buffer: the array the elements are appended to.
    /// - Returns: how many elements were appended: from 1 to `maxCount`.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained (elements
    ///   queued before the close are returned first); ``ChannelError/invalidMaxCount`` when
    ///   `maxCount` is less than 1 (nothing taken); `CancellationError` when the task is
    ///   cancelled while it waits.
    /// - Cancellation: as ``receive()``: a cancelled wait throws `CancellationError` and has
    ///   taken nothing, and `buffer` is unchanged; elements that are queued are returned even
    ///   in a cancelled task. Nothing is held back between calls: every element taken is in
    ///   `buffer` when the call returns.
    @inlinable
    public nonisolated(nonsending) func receive(upTo maxCount: Int, into buffer: inout [Element]) async throws -> Int {
        try await storage.receive(upTo: maxCount, into: &buffer)
    }

    /// Removes up to `maxCount` of the oldest elements and appends them to `buffer`, suspending
    /// while the channel is empty, for at most `timeout`; returns how many.
    ///
    /// As ``receive(upTo:into:)``, with the wait of ``receive(timeout:)``: elements that are queued
    /// are returned at once, with no timer.
    /// - Parameters:
    ///   - maxCount: the most elements to append; at least 1.
    ///   - buffer: the array the elements are appended to.
    ///   - timeout: how long to wait for the first element.
    /// - Returns: how many elements were appended: from 1 to `maxCount`.
    /// - Throws: ``ChannelError/timedOut`` when `timeout` passed first (nothing taken);
    ///   ``ChannelError/closed`` once closed and drained; ``ChannelError/invalidMaxCount``
    ///   when `maxCount` is less than 1; `CancellationError` when the task is cancelled while
    ///   it waits (nothing taken); `LoopError` when the shared timeout thread cannot be
    ///   started.
    /// - Cancellation: as ``receive(upTo:into:)``.
    @inlinable
    public nonisolated(nonsending) func receive(
        upTo maxCount: Int, into buffer: inout [Element], timeout: Duration
    ) async throws -> Int {
        try await storage.receive(upTo: maxCount, into: &buffer, within: .timeout(timeout))
    }

    /// Removes up to `maxCount` of the oldest elements and appends them to `buffer`, oldest first,
    /// blocking the calling thread while the channel is empty; returns how many.
    ///
    /// The plain-thread form of ``receive(upTo:into:)``: what is queued is taken at once; on an
    /// empty channel it waits as ``receiveSync()`` does (a brief spin, then the thread parks) for
    /// one element, then appends whatever else is queued by then. Taking `k` elements frees `k`
    /// slots: up to `k` waiting senders get in, in the order they started waiting, and are resumed.
    /// Must not wait on a thread that runs a loop now: there an empty channel throws
    /// ``ChannelError/wouldBlockLoop`` at once (queued elements are returned there as anywhere). A
    /// blocked thread cannot be cancelled; ``close()`` wakes it.
    /// - Parameters:
    ///   - maxCount: the most elements to append; at least 1.
    ///   - buffer: the array the elements are appended to.
    /// - Returns: how many elements were appended: from 1 to `maxCount`.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained;
    ///   ``ChannelError/invalidMaxCount`` when `maxCount` is less than 1 (nothing taken);
    ///   ``ChannelError/wouldBlockLoop`` when the channel is empty and open and the calling
    ///   thread runs a loop.
    @inlinable
    public func receiveSync(upTo maxCount: Int, into buffer: inout [Element]) throws(ChannelError) -> Int {
        try storage.receiveSync(upTo: maxCount, into: &buffer)
    }

    /// Removes up to `maxCount` of the oldest elements and appends them to `buffer`, blocking the
    /// calling thread while the channel is empty, for at most `timeout`; returns how many.
    ///
    /// As ``receiveSync(upTo:into:)``, with the wait of ``receiveSync(timeout:)``.
    /// - Parameters:
    ///   - maxCount: the most elements to append; at least 1.
    ///   - buffer: the array the elements are appended to.
    ///   - timeout: how long to wait for the first element.
    /// - Returns: how many elements were appended: from 1 to `maxCount`.
    /// - Throws: ``ChannelError/timedOut`` when `timeout` passed first (nothing taken);
    ///   ``ChannelError/closed`` once closed and drained; ``ChannelError/invalidMaxCount``
    ///   when `maxCount` is less than 1; ``ChannelError/wouldBlockLoop`` at once, instead of
    ///   waiting, on a thread that runs a dispatcher's loop.
    @inlinable
    public func receiveSync(
        upTo maxCount: Int, into buffer: inout [Element], timeout: Duration
    ) throws(ChannelError) -> Int {
        try storage.receiveSync(upTo: maxCount, into: &buffer, within: .timeout(timeout))
    }

    /// Removes up to `maxCount` of the oldest elements that are queued now and appends them to
    /// `buffer`, without waiting; returns how many.
    ///
    /// Callable from any thread or task; never blocks or suspends, and task cancellation does not
    /// affect it. Taking `k` elements frees `k` slots: up to `k` waiting senders get in, in the
    /// order they started waiting, and are resumed.
    /// - Parameters:
    ///   - maxCount: the most elements to append; at least 1. This call cannot throw, so a
    ///     `maxCount` below 1 stops the process with a message saying so.
    ///   - buffer: the array the elements are appended to.
    /// - Returns: how many elements were appended: 0 when the channel is empty (open, or
    ///   closed and drained), else from 1 to `maxCount`.
    @inlinable
    public func tryReceive(upTo maxCount: Int, into buffer: inout [Element]) -> Int {
        storage.tryReceive(upTo: maxCount, into: &buffer)
    }
}

// MARK: Deprecated spellings

// Each forwarder makes the same storage call as its new spelling, not a call to it: no async
// frame of its own between the caller and the continuation, so no extra executor hop per wait.
extension BoundedAsyncChannel {
    /// Deprecated spelling of ``receive()``: the same operation, throws and cancellation.
    @available(*, deprecated, renamed: "receive()")
    @inlinable
    public nonisolated(nonsending) func recv() async throws -> Element {
        try await storage.receive()
    }

    /// Deprecated spelling of ``tryReceive()``: the same operation.
    @available(*, deprecated, renamed: "tryReceive()")
    @inlinable
    public func tryRecv() -> Element? {
        storage.tryReceive()
    }

    /// Deprecated spelling of ``receiveSync()``: the same operation and throws.
    @available(*, deprecated, renamed: "receiveSync()")
    @inlinable
    public func recvSync() throws(ChannelError) -> Element {
        try storage.receiveSync()
    }
}

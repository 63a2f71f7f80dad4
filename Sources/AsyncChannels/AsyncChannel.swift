// LoopUtilities for `WaitLimit`, the timed waits' limit, named in inlinable bodies.
public import LoopUtilities

/// An unbounded multi-producer, multi-consumer FIFO channel between plain threads, tasks
/// and event loops: the Swift counterpart of nim-async-channels.
///
/// Any thread or task sends with ``send(_:)``, which never blocks or suspends. Tasks
/// receive with ``receive()`` (or `for await`), plain threads with ``receiveSync()``, and
/// anyone can poll with ``tryReceive()``:
///
/// ```swift
/// func squares(upTo n: Int) async -> [Int] {
///     let results = AsyncChannel<Int>()
///     let worker = Thread {  // any plain thread: a send never blocks
///         for i in 1...n { try? results.send(i * i) }
///         results.close()
///     }
///     worker.start()
///     var squares: [Int] = []
///     for await square in results { squares.append(square) }  // a task, e.g. on a Dispatcher
///     return squares
/// }
/// ```
///
/// Elements from one producer are received in the order they were sent. Each element is
/// received exactly once, by one receiver; an element wakes one waiting receiver (the
/// longest waiting), never all of them. A receiver waiting in a task on a `Dispatcher`
/// is resumed on that dispatcher; the producer makes no system call while the loop is busy.
///
/// ``close()`` stops further sends; the elements already queued remain receivable, and
/// receivers learn the channel is finished (``ChannelError/closed``, or the end of a
/// `for await` loop) once it is drained. Releasing the last reference to the channel closes
/// it too: iterators keep only its queue alive, so a `for await` over a channel nobody else
/// holds drains it and ends. A consumer that holds the channel itself keeps it open, so
/// producers that are done should call ``close()``.
///
/// Cancellation: a receive whose task is cancelled while it waits throws
/// `CancellationError` and has changed nothing (no element is taken); a send never waits,
/// so cancellation does not affect it.
///
/// The queue grows as needed and reuses its storage, so a steady stream allocates nothing
/// per element; a received element is released by the channel at once. There is no
/// backpressure: when producers can outrun consumers, use ``BoundedAsyncChannel``.
public final class AsyncChannel<Element: Sendable>: Sendable {
    @usableFromInline
    let storage: UnboundedChannelStorage<Element>

    /// Creates an empty, open channel. Callable from any thread.
    @inlinable
    public init() {
        storage = UnboundedChannelStorage()
    }

    /// Releasing the last reference to the channel closes it, as ``close()`` does: no one
    /// can send any more, so `for await` loops over it (whose iterators keep only the
    /// queue alive) receive what is queued and then end, instead of waiting for ever.
    /// Elements still queued when the last iterator goes are released with the queue.
    deinit {
        storage.close()
    }

    /// Appends an element, waking one waiting receiver if there is one.
    ///
    /// Callable from any thread or task, including a loop thread. Never blocks or suspends:
    /// O(1) and lock-free while no receiver waits, with no system call of its own (waking a
    /// task on a blocked loop costs the loop's wake-up, which the loop coalesces). Task
    /// cancellation does not affect it.
    /// - Parameter element: the element to send.
    /// - Throws: ``ChannelSendError`` with reason ``ChannelError/closed`` after ``close()``;
    ///   it hands `element` back.
    @inlinable
    public func send(_ element: Element) throws(ChannelSendError<Element>) {
        try storage.send(element)
    }

    /// Removes and returns the oldest element, suspending while the channel is empty.
    ///
    /// Returns at once, without suspending, when an element is queued. Callable from any
    /// task; it runs on the caller's executor and never hops (on a `Dispatcher` it stays
    /// on the loop thread).
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained;
    ///   `CancellationError` when the task is cancelled while it waits.
    /// - Cancellation: a cancelled wait throws `CancellationError` and has changed nothing:
    ///   the element it did not take stays in the channel for another receiver. A receive
    ///   that was already handed an element returns it; one that finds an element queued
    ///   does not wait and returns it even in a cancelled task.
    @inlinable
    public nonisolated(nonsending) func receive() async throws -> Element {
        try await storage.receive()
    }

    /// Removes and returns the oldest element, suspending while the channel is empty, for at
    /// most `timeout`.
    ///
    /// As ``receive()``, and a ready element is returned at once (no timer, no lock, no clock
    /// read: it costs what ``receive()`` costs). A wait arms one timer: on the caller's loop
    /// when the task runs on a `Dispatcher`, else on a shared timeout thread started on
    /// first use. The timer is cancelled as soon as the
    /// wait ends another way. A zero or negative timeout only looks once.
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/timedOut`` when `timeout` passed first: nothing was taken,
    ///   and an element sent later stays for the next receive; ``ChannelError/closed`` once
    ///   the channel is closed and drained; `CancellationError` when the task is cancelled
    ///   while it waits (nothing taken); `LoopError` when the shared timeout thread cannot be
    ///   started.
    /// - Cancellation: as ``receive()``.
    @inlinable
    public nonisolated(nonsending) func receive(timeout: Duration) async throws -> Element {
        try await storage.receive(within: .timeout(timeout))
    }

    /// Removes and returns the oldest element, suspending while the channel is empty, until
    /// `deadline` at the latest; ``receive(timeout:)`` with the time left until `deadline`.
    /// - Throws: as ``receive(timeout:)``.
    @inlinable
    public nonisolated(nonsending) func receive(deadline: ContinuousClock.Instant) async throws -> Element {
        try await storage.receive(within: .deadline(deadline))
    }

    /// Removes and returns the oldest element, blocking the calling thread while the channel
    /// is empty, for at most `timeout`.
    ///
    /// As ``receiveSync()``: a spin as the thread's idle policy allows, then the thread parks
    /// (futex) until an element, a close or the timeout. A zero or negative timeout only looks.
    /// - Throws: ``ChannelError/timedOut`` when `timeout` passed first (nothing taken);
    ///   ``ChannelError/closed`` once closed and drained; ``ChannelError/wouldBlockLoop`` at
    ///   once, instead of waiting, on a thread that runs a dispatcher's loop.
    @inlinable
    public func receiveSync(timeout: Duration) throws(ChannelError) -> Element {
        try storage.receiveSync(within: .timeout(timeout))
    }

    /// Removes and returns the oldest element if there is one, without waiting.
    ///
    /// Callable from any thread or task; never blocks or suspends, and task cancellation
    /// does not affect it.
    /// - Returns: the element, or nil when the channel is empty (open or closed).
    @inlinable
    public func tryReceive() -> Element? {
        storage.tryReceive()
    }

    /// Removes and returns the oldest element if there is one, without waiting, and says
    /// whether an empty channel is still open.
    ///
    /// ``tryReceive()`` returns nil both when the channel is empty and when it is closed and
    /// drained; this tells the two apart in one step, so a polling consumer knows when to
    /// stop without a second, racing look at ``isClosed``. Callable from any thread or task;
    /// never blocks or suspends, takes no lock, and task cancellation does not affect it.
    /// - Returns: ``TryReceiveResult/element(_:)`` with the element,
    ///   ``TryReceiveResult/empty`` when nothing is queued and the channel is open, or
    ///   ``TryReceiveResult/closed`` when it is closed and drained.
    @inlinable
    public func tryReceiveResult() -> TryReceiveResult<Element> {
        switch storage.queue.pop() {
        case .element(let element): .element(element)
        case .empty: .empty
        case .closed: .closed
        }
    }

    /// Removes and returns the oldest element, blocking the calling thread while the channel
    /// is empty.
    ///
    /// For plain threads (pool workers, blocking I/O threads, C callbacks). Must not be
    /// called on a thread that runs a loop now (a task or closure on a `LoopThread`, on a
    /// thread dispatcher inside `run()` or `waitFor(_:)`, or on a shut-down dispatcher's
    /// fallback queue): where it would have to wait, it throws
    /// ``ChannelError/wouldBlockLoop`` at once instead of stalling the loop; an element
    /// already queued is returned there as anywhere. Use ``receive()`` from a task. From a
    /// task on the global executor it blocks a thread of the shared pool: use ``receive()``
    /// there too. A blocked thread cannot be cancelled; ``close()`` wakes it.
    ///
    /// On an empty channel the thread first spins as its `IdlePolicy.currentThread` allows
    /// (by default up to 50 µs while its recent waits ended that soon), so that an element
    /// sent meanwhile costs neither side a system call; then it parks.
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained;
    ///   ``ChannelError/wouldBlockLoop`` when the channel is empty and open and the calling
    ///   thread runs a loop.
    @inlinable
    public func receiveSync() throws(ChannelError) -> Element {
        try storage.receiveSync()
    }

    /// Closes the channel: later sends fail, queued elements stay receivable, and every
    /// waiting receiver (task or thread) wakes with ``ChannelError/closed`` (receivers only
    /// wait on an empty channel, so they are all finished at once).
    ///
    /// Idempotent; callable from any thread or task; never blocks or suspends. Linearizable:
    /// a send either completes before the close (and its element will be received) or fails.
    @inlinable
    public func close() {
        storage.close()
    }

    /// Whether ``close()`` has been called. A snapshot; callable from any thread.
    @inlinable
    public var isClosed: Bool { storage.isClosed }

    /// The number of elements queued now. A snapshot; callable from any thread.
    @inlinable
    public var count: Int { storage.count }
}

// MARK: Receiving in batches

extension AsyncChannel {
    /// Removes up to `maxCount` of the oldest elements and appends them to `buffer`, oldest first,
    /// suspending while the channel is empty; returns how many it appended.
    ///
    /// Like tokio's `recv_many`: a consumer that falls behind its producers takes what has queued
    /// up in one call (one claim on the queue's head per block of slots, instead of one per
    /// element). One that has caught up lingers for a moment: with fewer than 16 elements (or
    /// `maxCount`) queued, it spins about 1.5 µs before it takes what is there, so that it
    /// takes a batch rather than each element the moment it lands (which would pull the
    /// producers' cache lines away from them on every send), and on a channel that stays empty
    /// it then waits as ``receive()`` does and appends whatever else is queued by then. It never
    /// waits for more than one element, and a loop with other ready work is never held by the
    /// spin. Elements already in `buffer` are kept; reuse
    /// one buffer (`removeAll(keepingCapacity: true)`) to receive without allocating. Callable from
    /// any task; runs on the caller's executor and never hops.
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
    /// The plain-thread form of ``receive(upTo:into:)``: 16 or more queued elements (or
    /// `maxCount`) are taken at once, fewer after the same moment's linger; on an empty channel
    /// it waits as ``receiveSync()`` does (a spin as the thread's idle policy allows, looking at
    /// the channel about every 1.5 µs, then the thread parks) for one element, then appends
    /// whatever else is queued by then. Must not wait on a thread that
    /// runs a loop now: there an empty channel throws ``ChannelError/wouldBlockLoop`` at once
    /// (queued elements are returned there as anywhere). A blocked thread cannot be cancelled;
    /// ``close()`` wakes it.
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
    /// affect it.
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
extension AsyncChannel {
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

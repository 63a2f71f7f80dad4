/// An unbounded multi-producer, multi-consumer FIFO channel between plain threads, tasks
/// and event loops: the Swift counterpart of nim-async-channels.
///
/// Any thread or task sends with ``send(_:)``, which never blocks or suspends. Tasks
/// receive with ``recv()`` (or `for await`), plain threads with ``recvSync()``, and anyone
/// can poll with ``tryRecv()``:
///
/// ```swift
/// let results = AsyncChannel<Int>()
/// let worker = PlainWorker { results.sendOrDrop(42) }   // any thread
/// for await value in results { print(value) }           // a task, e.g. on a Dispatcher
/// ```
///
/// Elements from one producer are received in the order they were sent. Each element is
/// received exactly once, by one receiver; an element wakes one waiting receiver (the
/// longest waiting), never all of them. A receiver waiting in a task on a ``Dispatcher``
/// is resumed on that dispatcher; the producer makes no system call while the loop is busy.
///
/// ``close()`` stops further sends; the elements already queued remain receivable, and
/// receivers learn the channel is finished (``ChannelError/closed``, or the end of a
/// `for await` loop) once it is drained.
///
/// The queue grows as needed and reuses its storage, so a steady stream allocates nothing
/// per element; a received element is released by the channel at once. There is no
/// backpressure: when producers can outrun consumers, use ``BoundedAsyncChannel``.
public final class AsyncChannel<Element: Sendable>: Sendable {
    @usableFromInline
    let storage: UnboundedChannelStorage<Element>

    /// Creates an empty, open channel.
    @inlinable
    public init() {
        storage = UnboundedChannelStorage()
    }

    /// Appends an element, waking one waiting receiver if there is one.
    ///
    /// Callable from any thread or task, including a loop thread. Never blocks or suspends:
    /// O(1) and lock-free while no receiver waits, with no system call of its own (waking a
    /// task on a blocked loop costs the loop's wake-up, which the loop coalesces).
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
    /// task; it runs on the caller's executor and never hops (on a ``Dispatcher`` it stays
    /// on the loop thread).
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained.
    ///   `CancellationError` when the task is cancelled while it waits; a cancelled receive
    ///   never swallows an element: either it returns the element it was already given, or
    ///   it throws and the element stays in the channel for another receiver.
    @inlinable
    public nonisolated(nonsending) func recv() async throws -> Element {
        try await storage.receive()
    }

    /// Removes and returns the oldest element if there is one, without waiting.
    ///
    /// Callable from any thread or task.
    /// - Returns: the element, or nil when the channel is empty (open or closed).
    @inlinable
    public func tryRecv() -> Element? {
        storage.tryReceive()
    }

    /// Removes and returns the oldest element, blocking the calling thread while the channel
    /// is empty.
    ///
    /// For plain threads (pool workers, blocking I/O threads, C callbacks). Do not call it
    /// from a task or a loop thread: it blocks the whole thread (use ``recv()`` there).
    /// - Returns: the next element.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained.
    @inlinable
    public func recvSync() throws(ChannelError) -> Element {
        try storage.receiveSync()
    }

    /// Closes the channel: later sends fail, queued elements stay receivable, and every
    /// waiting receiver (task or thread) wakes with ``ChannelError/closed`` (receivers only
    /// wait on an empty channel, so they are all finished at once).
    ///
    /// Idempotent; callable from any thread or task. Linearizable: a send either completes
    /// before the close (and its element will be received) or fails.
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

public import LoopUtilities

/// A channel storage that a task can receive from: ``BoundedChannelStorage`` and
/// ``UnboundedChannelStorage``.
@usableFromInline
protocol ReceivingStorage<Element>: Sendable {
    associatedtype Element: Sendable
    /// Receives without suspending: nil when the receiver would have to wait; throws
    /// `.closed` once closed and drained.
    func receiveWithoutWaiting() throws(ChannelError) -> Element?
    /// Receives after ``receiveWithoutWaiting()`` returned nil, suspending while empty and
    /// open; throws ``ChannelError/closed`` once closed and drained, or `CancellationError`
    /// when the task is cancelled while it waits (then nothing changed: no element taken).
    nonisolated(nonsending) func receiveWaiting() async throws -> Element
    /// Takes up to `maxCount` (at least 1) queued elements without waiting and appends them
    /// to `buffer`: how many, 0 when the channel is empty and open; throws `.closed` once
    /// closed and drained.
    func receiveAvailable(upTo maxCount: Int, into buffer: inout [Element]) throws(ChannelError) -> Int
    /// The batch receives' look before they wait: ``receiveAvailable(upTo:into:)``, after the
    /// channel's spin as `spin` allows when too little is queued (none for the bounded
    /// channel, whose single receive does not spin either). 0: nothing came.
    func receiveAvailable(
        upTo maxCount: Int, into buffer: inout [Element], spinning spin: IdleWait
    ) throws(ChannelError) -> Int
    /// The blocking half of `receiveSync()`, after its look (and spin) found nothing.
    func receiveSyncSlow() throws(ChannelError) -> Element
    /// The channel's `receiveSync()`: its spin, then its park.
    func receiveSync() throws(ChannelError) -> Element
    /// The channel's `receiveSync(timeout:)`.
    func receiveSync(within limit: WaitLimit) throws(ChannelError) -> Element
    /// The channel's `receive(timeout:)`.
    nonisolated(nonsending) func receive(within limit: WaitLimit) async throws -> Element
}

extension BoundedChannelStorage: ReceivingStorage {}
extension UnboundedChannelStorage: ReceivingStorage {}

extension ReceivingStorage {
    /// Receives, suspending the task while the channel is empty and open: the channels'
    /// `receive()`. A ready element is taken before any `await`. Always inlined, as
    /// `receiveWaiting()` is: each async frame between the caller and the continuation adds
    /// an executor hop per wait.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receive() async throws -> Element {
        if let element = try receiveWithoutWaiting() { return element }
        return try await receiveWaiting()
    }
}

/// The iterator behind `for await` on both channel types: a receive loop that ends (with
/// nil) when the channel is closed and drained, or when the task is cancelled while it
/// waits.
@usableFromInline
struct ChannelIterator<Storage: ReceivingStorage> {
    @usableFromInline let storage: Storage
    @usableFromInline var finished = false

    @inlinable
    init(storage: Storage) {
        self.storage = storage
    }

    /// The next element; nil once closed and drained, or cancelled while waiting.
    ///
    /// The ready case returns before any `await` (`receive()` is always inlined, and takes a
    /// ready element before it awaits): with no suspension point on that path the
    /// compiler needs no executor hop after it (a hop to the generic executor costs a task
    /// with an executor preference a runtime lock per element).
    @inlinable
    nonisolated(nonsending) mutating func next() async -> Storage.Element? {
        if finished { return nil }
        do {
            return try await storage.receive()
        } catch {
            // Closed and drained, or cancelled while waiting (then no element was taken).
            finished = true
            return nil
        }
    }
}

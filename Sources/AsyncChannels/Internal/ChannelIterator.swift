/// A channel storage that a task can receive from: ``ChannelStorage`` (bounded) and
/// ``UnboundedChannelStorage``.
@usableFromInline
protocol ReceivingStorage<Element>: Sendable {
    associatedtype Element: Sendable
    /// Receives, suspending while empty and open; throws once closed and drained, or
    /// `CancellationError` when cancelled while waiting (then no element was taken).
    nonisolated(nonsending) func receive() async throws -> Element
}

extension ChannelStorage: ReceivingStorage {}
extension UnboundedChannelStorage: ReceivingStorage {}

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

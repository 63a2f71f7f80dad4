/// The iterator behind `for await` on both channel types: a receive loop that ends (with
/// nil) when the channel is closed and drained, or when the task is cancelled while it
/// waits.
@usableFromInline
struct ChannelIterator<Element: Sendable> {
    @usableFromInline let storage: ChannelStorage<Element>
    @usableFromInline var finished = false

    @inlinable
    init(storage: ChannelStorage<Element>) {
        self.storage = storage
    }

    @inlinable
    nonisolated(nonsending) mutating func next() async -> Element? {
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

/// ``ChannelIterator`` for ``AsyncChannel``'s lock-free storage.
@usableFromInline
struct UnboundedChannelIterator<Element: Sendable> {
    @usableFromInline let storage: UnboundedChannelStorage<Element>
    @usableFromInline var finished = false

    @inlinable
    init(storage: UnboundedChannelStorage<Element>) {
        self.storage = storage
    }

    @inlinable
    nonisolated(nonsending) mutating func next() async -> Element? {
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

extension AsyncChannel: AsyncSequence {
    /// Iteration never throws: it ends (returns nil) when the channel is closed and drained
    /// or when the task is cancelled while it waits.
    public typealias Failure = Never

    /// Iterates the channel's elements: `for await element in channel` receives until the
    /// channel is closed and drained.
    ///
    /// Any number of iterators may run at once, in any tasks; each element goes to one of
    /// them. An iteration whose task is cancelled while it waits ends (returns nil) and has
    /// changed nothing: it takes no element. The iterator is not `Sendable`: use each in one task.
    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline
        var base: ChannelIterator<UnboundedChannelStorage<Element>>

        @inlinable
        init(storage: UnboundedChannelStorage<Element>) {
            base = ChannelIterator(storage: storage)
        }

        /// The next element, or nil once the channel is closed and drained or the task was
        /// cancelled while waiting (a cancelled wait takes no element; later calls return
        /// nil too). Call from the iterator's task; runs on the caller's executor, never hops.
        @inlinable
        public nonisolated(nonsending) mutating func next(isolation actor: (any Actor)?) async -> Element? {
            await base.next()
        }

        /// The next element, or nil once the channel is closed and drained or the task was
        /// cancelled while waiting; the same as ``next(isolation:)``.
        @inlinable
        public nonisolated(nonsending) mutating func next() async -> Element? {
            await base.next()
        }
    }

    /// Returns an iterator over the channel's elements. Callable from any task.
    @inlinable
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(storage: storage)
    }
}

extension BoundedAsyncChannel: AsyncSequence {
    /// Iteration never throws: it ends (returns nil) when the channel is closed and drained
    /// or when the task is cancelled while it waits.
    public typealias Failure = Never

    /// Iterates the channel's elements: `for await element in channel` receives until the
    /// channel is closed and drained.
    ///
    /// Any number of iterators may run at once, in any tasks; each element goes to one of
    /// them. An iteration whose task is cancelled while it waits ends (returns nil) and has
    /// changed nothing: it takes no element. The iterator is not `Sendable`: use each in one task.
    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline
        var base: ChannelIterator<BoundedChannelStorage<Element>>

        @inlinable
        init(storage: BoundedChannelStorage<Element>) {
            base = ChannelIterator(storage: storage)
        }

        /// The next element, or nil once the channel is closed and drained or the task was
        /// cancelled while waiting (a cancelled wait takes no element; later calls return
        /// nil too). Call from the iterator's task; runs on the caller's executor, never hops.
        @inlinable
        public nonisolated(nonsending) mutating func next(isolation actor: (any Actor)?) async -> Element? {
            await base.next()
        }

        /// The next element, or nil once the channel is closed and drained or the task was
        /// cancelled while waiting; the same as ``next(isolation:)``.
        @inlinable
        public nonisolated(nonsending) mutating func next() async -> Element? {
            await base.next()
        }
    }

    /// Returns an iterator over the channel's elements. Callable from any task.
    @inlinable
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(storage: storage)
    }
}

import Synchronization

/// The channel a user writes in an afternoon, a peer for the one-consumer hand-off: a mutex
/// around an array and one stored continuation; the consumer swaps the whole array out per
/// wake and hands its spent array back, so a burst of sends costs it one lock and one resume,
/// and a steady stream allocates nothing. One consumer only, not cancellable, unbounded.
final class BatchDrainLock<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        /// Elements sent and not yet taken.
        var items: [Element] = []
        /// The consumer's emptied array, put in place of `items` when they are handed over.
        var spare: [Element] = []
        /// The consumer, suspended while `items` was empty.
        var waiter: UnsafeContinuation<[Element], Never>? = nil
    }

    private let state = Mutex(State())

    init() {}

    /// Appends `element` and, when the consumer waits, hands it everything queued. Any thread.
    func send(_ element: Element) {
        let handOff = state.withLock { state -> (UnsafeContinuation<[Element], Never>, [Element])? in
            state.items.append(element)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            let batch = state.items
            state.items = state.spare
            state.spare = []
            return (waiter, batch)
        }
        if let (waiter, batch) = handOff { waiter.resume(returning: batch) }
    }

    /// Everything queued, waiting while nothing is; `spent` is the previous batch, whose
    /// storage the channel reuses. The one consumer only.
    nonisolated(nonsending) func next(recycling spent: [Element]) async -> [Element] {
        var spent = spent
        spent.removeAll(keepingCapacity: true)
        let recycled = spent
        if let batch = state.withLock({ state in Self.takeAll(&state, replacingWith: recycled) }) { return batch }
        return await withUnsafeContinuation { continuation in
            let batch = state.withLock { state -> [Element]? in
                if let batch = Self.takeAll(&state, replacingWith: recycled) { return batch }
                state.spare = recycled
                state.waiter = continuation
                return nil
            }
            if let batch { continuation.resume(returning: batch) }
        }
    }

    /// The queued elements, with `replacement` in their place; nil when none are queued.
    private static func takeAll(_ state: inout State, replacingWith replacement: [Element]) -> [Element]? {
        guard !state.items.isEmpty else { return nil }
        let batch = state.items
        state.items = replacement
        return batch
    }
}

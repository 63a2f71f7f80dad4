import DequeModule
import Synchronization

/// The hand-rolled baseline of `mpmc-4p2c`: a `Mutex` around swift-collections' `Deque`,
/// with one waiting continuation per suspended consumer.
///
/// A send hands its element straight to the longest-waiting consumer, if any, and resumes
/// it outside the lock; otherwise it appends. It is what a careful engineer writes in an
/// afternoon, so it has no cancellation support: a benchmark peer, not a library type.
final class LockedDequeQueue<Element: Sendable>: Sendable {
    private struct State {
        var elements = Deque<Element>()
        var waiters = Deque<CheckedContinuation<Element?, Never>>()
        var finished = false
    }

    private enum Attempt {
        case element(Element)
        case finished
        case empty
    }

    private let state = Mutex(State())

    /// Adds an element, or gives it to a waiting consumer. Callable from any thread.
    func send(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.elements.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// Ends the queue: waiting consumers get nil, later receives drain what is left, then get nil.
    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// The next element, waiting while the queue is empty; nil once finished and drained.
    func receive() async -> Element? {
        let attempt = state.withLock { state -> Attempt in
            if let element = state.elements.popFirst() { return .element(element) }
            return state.finished ? .finished : .empty
        }
        switch attempt {
        case .element(let element): return element
        case .finished: return nil
        case .empty: break
        }
        return await withCheckedContinuation { continuation in
            // Re-checked under the lock: a send may have come since the first attempt.
            let immediate = state.withLock { state -> Element?? in
                if let element = state.elements.popFirst() { return .some(element) }
                if state.finished { return .some(nil) }
                state.waiters.append(continuation)
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}

import LoopUtilities

/// A one-shot rendezvous between one suspended task and whoever finishes its wait: the
/// continuation may be installed before or after the outcome is known, and is resumed
/// exactly once. Sleeps, descriptor waits and scheduled timers use it.
///
/// A rendezvous is not a waiter (the entry a primitive keeps for one suspended task until
/// it resumes it), though a waiter may hold one, as a descriptor registration's reader and
/// writer do: it is only where the continuation and its outcome meet, and several parties
/// (the loop, a cancellation handler, shutdown) may race to finish it; the first wins.
final class Rendezvous: Sendable {
    private enum State {
        case idle
        case waiting(UnsafeContinuation<Void, any Error>)
        case finished(Result<Void, any Error>)
        case consumed
    }

    /// Any thread, protected by its lock. The continuation leaves the state (`.consumed`)
    /// in the same critical section that decides to resume it, so it is resumed once.
    private let state = LockedValue<State>(.idle)

    /// Installs the continuation; resumes it at once if the outcome is already known.
    /// Called once per rendezvous, from the suspending task.
    func install(_ continuation: UnsafeContinuation<Void, any Error>) {
        let ready = state.withLock { state -> Result<Void, any Error>? in
            switch state {
            case .idle:
                state = .waiting(continuation)
                return nil
            case .finished(let result):
                state = .consumed
                return result
            case .waiting, .consumed:
                preconditionFailure("a Rendezvous's continuation was installed twice")
            }
        }
        if let ready { continuation.resume(with: ready) }
    }

    /// Delivers the outcome. Returns false when an outcome was already delivered. Callable
    /// from any thread.
    @discardableResult
    func finish(_ result: Result<Void, any Error>) -> Bool {
        let (won, continuation) = state.withLock { state -> (Bool, UnsafeContinuation<Void, any Error>?) in
            switch state {
            case .idle:
                state = .finished(result)
                return (true, nil)
            case .waiting(let continuation):
                state = .consumed
                return (true, continuation)
            case .finished, .consumed:
                return (false, nil)
            }
        }
        continuation?.resume(with: result)
        return won
    }

    /// True once an outcome was delivered. Callable from any thread.
    var isFinished: Bool {
        state.withLock { state in
            switch state {
            case .idle, .waiting: false
            case .finished, .consumed: true
            }
        }
    }
}

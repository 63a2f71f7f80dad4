import LoopUtilities
import Synchronization

/// A one-shot rendezvous between one suspended caller and whoever finishes its wait: the
/// continuation may be installed before or after the outcome is known, and is resumed
/// exactly once. Used by sleeps, descriptor waits and scheduled timers.
final class Waiter: Sendable {
    private enum State {
        case idle
        case waiting(UnsafeContinuation<Void, any Error>)
        case finished(Result<Void, any Error>)
        case consumed
    }

    private let state = LockedValue<State>(.idle)

    /// Installs the continuation; resumes it at once if the outcome is already known.
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
                preconditionFailure("a Waiter's continuation was installed twice")
            }
        }
        if let ready { continuation.resume(with: ready) }
    }

    /// Delivers the outcome. Returns false when an outcome was already delivered.
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

    /// True once an outcome was delivered.
    var isFinished: Bool {
        state.withLock { state in
            switch state {
            case .idle, .waiting: false
            case .finished, .consumed: true
            }
        }
    }
}

import LoopUtilities
import Synchronization

/// The result of a `waitFor` body: written once by the body's task (any thread), read by
/// the loop thread that runs `waitFor`.
final class Outcome<T: Sendable>: Sendable {
    /// Any thread, protected by its lock: the body's result until `take()` moves it out.
    private let state = LockedValue<Result<T, any Error>?>(nil)
    /// Any thread, atomic. Released after the result is stored and acquired by the loop's
    /// `isFinished` check, so the loop stops only once the result is there; `take()` then
    /// reads it under the lock anyway.
    private let finished = Atomic<Bool>(false)

    /// Stores the body's result. Called once, by the body's task.
    func finish(_ result: sending Result<T, any Error>) {
        state.withLock { $0 = result }
        finished.store(true, ordering: .releasing)
    }

    /// True once the body has finished. The loop's stop condition; callable from any thread.
    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// The body's value, or throws what the body threw. Called once, after `isFinished`.
    func take() throws -> T {
        let result = state.withLock { state -> Result<T, any Error>? in
            defer { state = nil }
            return state
        }
        guard let result else { preconditionFailure("waitFor's loop returned before its body finished") }
        return try result.get()
    }
}

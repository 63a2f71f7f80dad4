import Dispatch
import Synchronization

/// Lets the harness thread block until the parts of a run that live on other threads and
/// tasks are done. A part that fails records its error instead of leaving the run hanging,
/// and every wait has a deadline so a broken implementation fails rather than hangs.
final class Completion: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let failures = Mutex<[String]>([])

    /// Marks one part as done. Callable from any thread or task.
    func finish() {
        semaphore.signal()
    }

    /// Marks one part as failed with `error`. Callable from any thread or task.
    func fail(_ error: any Error) {
        failures.withLock { $0.append("\(error)") }
        semaphore.signal()
    }

    /// Blocks the calling plain thread until `parts` parts have finished or failed.
    /// - Throws: ``BenchError`` when a part failed, or when one does not finish within
    ///   `timeout`.
    func wait(parts: Int = 1, timeout: Duration = .seconds(300)) throws {
        for part in 0..<parts {
            try BenchError.check(
                semaphore.wait(timeout: .now() + .nanoseconds(Int(timeout.nanoseconds))) == .success,
                "part \(part + 1) of \(parts) did not finish within \(timeout)"
            )
        }
        if let failure = failures.withLock({ $0.first }) { throw BenchError(failure) }
    }
}

/// Blocks on `semaphore` for at most `timeout`.
/// - Throws: ``BenchError`` on timeout, so that a lost wake-up fails the run instead of hanging it.
func wait(_ semaphore: DispatchSemaphore, timeout: Duration = .seconds(60)) throws {
    try BenchError.check(
        semaphore.wait(timeout: .now() + .nanoseconds(Int(timeout.nanoseconds))) == .success,
        "a semaphore wait timed out after \(timeout): a wake-up was lost"
    )
}

/// A mutable value confined to one thread at a time: consumer-side state of a run, written
/// on a loop thread and read by the harness after the run's ``Completion`` (which orders
/// the two).
final class Confined<Value>: @unchecked Sendable {
    var value: Value  // protected by confinement: one loop thread during the run, then the harness

    init(_ value: Value) {
        self.value = value
    }
}

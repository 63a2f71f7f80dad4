/// The serial executor of a dispatcher: a separate object so that the loop can tell actor
/// jobs from task jobs, which the runtime hands to the same `enqueue`.
///
/// `@unchecked Sendable`: its one field is written once, before the object is shared, and
/// only read afterwards.
final class LoopSerialExecutor: SerialExecutor, @unchecked Sendable {
    /// Immutable once set: written once in `Dispatcher.init`, before the executor is
    /// shared. `unowned(unsafe)` is sound because the dispatcher owns this executor and
    /// every actor that uses it must keep the dispatcher alive, so the dispatcher outlives
    /// every job that can arrive here.
    unowned(unsafe) var dispatcher: Dispatcher!

    /// Runs an actor job on the loop thread; called by the Swift runtime from any thread.
    func enqueue(_ job: consuming ExecutorJob) {
        dispatcher.submit(.actor(UnownedJob(job)))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func isSameExclusiveExecutionContext(other: LoopSerialExecutor) -> Bool {
        self === other
    }

    /// Stops the process unless the caller runs on the loop thread (or the fallback drain
    /// that stands in for it after shutdown).
    func checkIsolated() {
        // fatalError, not precondition: the message must survive optimized builds.
        guard dispatcher.isBoundToCurrentThread else {
            fatalError("expected to run on the loop thread of dispatcher '\(dispatcher.name)', but runs elsewhere")
        }
    }

    func isIsolatingCurrentContext() -> Bool? {
        dispatcher.isBoundToCurrentThread
    }
}

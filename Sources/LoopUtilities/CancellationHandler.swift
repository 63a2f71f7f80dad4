/// `withTaskCancellationHandler` for the package's wait paths, without its two executor
/// hops: runs `operation` with `onCancel` registered as the current task's cancellation
/// handler, and returns what `operation` returns.
///
/// The standard `withTaskCancellationHandler(operation:onCancel:isolation:)` takes an
/// `isolated` parameter, so it hops to the caller's isolation on entry and the caller hops
/// back after it returns. Every hop is a `swift_task_switch`, and for a task made with
/// `Task(executorPreference:)` each one takes the task's status-record lock to look its
/// preferred executor up. The executor-inheriting variant used here (the standard
/// library's own, public, Swift 5 entry point) makes neither hop; callers are
/// `nonisolated(nonsending)` and so already run on the executor they must return on. It
/// takes two of the four switches out of every suspended hatch receive (measured with
/// `perf probe` on `swift_task_switch` in `loop-bench --filter pingpong-same-loop`).
///
/// The one use of the underscored `_unsafeInheritExecutor_withTaskCancellationHandler`,
/// checked on Swift 6.3.1. If it goes away, the standard `withTaskCancellationHandler`
/// replaces it with the same semantics, at the cost of the two hops per wait.
///
/// - Throws: whatever `operation` throws.
/// - Cancellation: `onCancel` runs once, at once if the task is already cancelled or later
///   on the cancelling thread while `operation` runs; it is unregistered when `operation`
///   returns.
@inlinable
package nonisolated(nonsending) func withCancellationHandler<Result>(
    operation: () async throws -> Result,
    onCancel: @Sendable () -> Void
) async rethrows -> Result {
    try await _unsafeInheritExecutor_withTaskCancellationHandler(operation: operation, onCancel: onCancel)
}

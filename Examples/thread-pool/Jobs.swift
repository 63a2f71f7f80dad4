import EventLoop
import LoopThreadPool

/// What one run produced, as the task that printed the results saw it.
struct RunReport: Sendable {
    /// Job ids in the order their results were printed.
    var order: [Int] = []
    /// The value printed for each job, indexed by position in `order`.
    var values: [Int] = []
    /// The most jobs submitted and not yet printed, at any moment.
    var maxInFlight = 0
    /// Results that came back before the result of an earlier job.
    var reordered = 0
    /// Child tasks that ran somewhere other than the loop (none should).
    var offLoop = 0
    var elapsed = Duration.zero
}

/// Runs `jobCount` jobs on `pool` from one task on `dispatcher`, with at most `inFlight` of
/// them submitted and not yet printed, and hands each result, in submission order, to `emit`
/// on the loop thread.
///
/// Each job is a child task of a task group; it inherits the loop as its executor, asks the
/// pool with `run`, and resumes on the loop with the result. Results come back in whatever
/// order the workers finish them; the ones that overtook an earlier job wait in a small
/// buffer until that job's result is printed. Cancelling the calling task cancels the jobs
/// no worker has started yet: they never run.
///
/// - Throws: `CancellationError` when the calling task is cancelled; `ThreadPoolError` when
///   the pool shuts down under the run.
func runJobs(
    _ jobCount: Int, on pool: ThreadPool, inFlight: Int, on dispatcher: Dispatcher,
    emit: @escaping @Sendable (_ id: Int, _ input: Int, _ value: Int) -> Void
) async throws -> RunReport {
    try await Task(executorPreference: dispatcher) { () throws -> RunReport in
        let started = ContinuousClock.now
        var report = RunReport()
        report.order.reserveCapacity(jobCount)
        report.values.reserveCapacity(jobCount)
        try await withThrowingTaskGroup(of: (id: Int, value: Int, onLoop: Bool).self) { jobs in
            var submitted = 0
            // Results that arrived before an earlier job's, by job id.
            var early: [Int: Int] = [:]
            while report.order.count < jobCount {
                // Submit until the window is full: submitted and not yet printed.
                while submitted < jobCount && submitted - report.order.count < inFlight {
                    let id = submitted
                    jobs.addTask {
                        let input = input(forJob: id)
                        let value = try await pool.run { collatzSteps(input) }
                        return (id, value, dispatcher.inLoop)
                    }
                    submitted += 1
                }
                report.maxInFlight = max(report.maxInFlight, submitted - report.order.count)
                guard let result = try await jobs.next() else {
                    preconditionFailure("the group ran out of jobs with \(jobCount - report.order.count) unprinted")
                }
                if !result.onLoop { report.offLoop += 1 }
                if result.id != report.order.count { report.reordered += 1 }
                early[result.id] = result.value
                while let value = early.removeValue(forKey: report.order.count) {
                    let id = report.order.count
                    report.order.append(id)
                    report.values.append(value)
                    emit(id, input(forJob: id), value)
                }
            }
        }
        report.elapsed = ContinuousClock.now - started
        return report
    }.value
}

import AsyncChannels
import EventLoop
import ExampleSupport

/// What one run of the pool produced, as the printing task saw it.
struct PoolReport: Sendable {
    /// Job ids in the order their results were printed.
    var order: [Int] = []
    /// The value printed for each job, indexed by position in `order`.
    var values: [Int] = []
    var maxInFlight = 0
    var reordered = 0
    var windowEmptyAtEnd = false
    var elapsed = Duration.zero
}

/// Runs `jobCount` jobs on `workerCount` plain threads with at most `inFlight` in flight, and
/// hands each result, in submission order, to `emit` on the loop thread.
///
/// Three loop tasks share a ``CompletionWindow``: the submitter admits jobs (waiting while
/// the window is full) and sends them to the workers; the completer drains the single result
/// channel that every worker posts to and completes each job's multishot slot; the printer
/// takes results in submission order.
func runPool(
    jobCount: Int, workerCount: Int, inFlight: Int, on loop: LoopThread,
    emit: @escaping @Sendable (_ id: Int, _ input: Int, _ value: Int) -> Void
) async throws -> PoolReport {
    let dispatcher = loop.dispatcher
    let jobs = AsyncChannel<Job>()
    let results = AsyncChannel<JobResult>()
    let submitted = AsyncChannel<Int>()
    let window = try CompletionWindow(capacity: inFlight, on: dispatcher)
    let started = ContinuousClock.now

    let pool = WorkerPool(count: workerCount, jobs: jobs) { job in
        // The result channel is closed only after the workers are joined: this never fails.
        try? results.send(JobResult(id: job.id, value: collatzSteps(job.input)))
    }
    let completer = Task(executorPreference: dispatcher) {
        for await result in results { window.complete(result) }
    }
    let submitter = Task(executorPreference: dispatcher) {
        defer {
            submitted.close()
            jobs.close()
        }
        for id in 0..<jobCount {
            try await window.open(id)
            try jobs.send(Job(id: id, input: input(forJob: id)))
            try submitted.send(id)
        }
    }
    let printer = Task(executorPreference: dispatcher) { () throws -> PoolReport in
        var report = PoolReport()
        report.order.reserveCapacity(jobCount)
        report.values.reserveCapacity(jobCount)
        for await id in submitted {
            let value = try await window.take(id)
            report.order.append(id)
            report.values.append(value)
            emit(id, input(forJob: id), value)
        }
        return report
    }

    try await submitter.value
    var report = try await printer.value
    // Every job was taken, so every result was posted: the workers are idle and the job
    // channel is closed. Join them off the loop, then let the completer finish.
    pool.join()
    results.close()
    await completer.value
    report.elapsed = ContinuousClock.now - started
    (report.maxInFlight, report.reordered, report.windowEmptyAtEnd) = await Task(executorPreference: dispatcher) {
        (window.maxInFlight, window.reordered, window.isEmpty)
    }.value
    return report
}

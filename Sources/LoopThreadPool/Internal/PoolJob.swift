import LoopUtilities

/// One job in a pool's queue, as a worker or a removal sees it.
///
/// The queue stores `any PoolJob` in place: both conforming types are at most three words
/// (a closure is two, a continuation one), which fits the existential's inline buffer, so a
/// queued job costs no allocation beyond the work closure's own context.
protocol PoolJob: Sendable {
    /// Runs the work on the calling worker thread and hands its outcome to the caller.
    /// `core` is the pool's shared state: between the work's end and the hand-off, `run`
    /// calls `core.promiseLook()` exactly once (the worker looks at the queue before it
    /// parks); the ThreadSanitizer release of the hand-off is made on it (the caller's
    /// acquire is in ``ThreadPool/run(_:)``).
    func run(for core: PoolCore)

    /// The job was taken off the queue unrun (a cancellation or `shutdownNow()`): resumes its
    /// caller with `error`, or, for a fire-and-forget job, just drops the work.
    func discard(with error: any Error)
}

/// The job of a ``ThreadPool/run(_:)``: the work, and the suspended caller's continuation,
/// which whoever takes the job off the queue resumes exactly once.
struct ReplyJob<Result: Sendable>: PoolJob {
    let work: @Sendable () throws -> Result
    let continuation: UnsafeContinuation<Result, any Error>

    func run(for core: PoolCore) {
        let outcome = Swift.Result { try work() }
        // Before the resume: the caller may enqueue its next job as soon as it has this one's
        // outcome, and must then find this worker counted.
        core.promiseLook()
        // Pairs with the caller's acquire after its continuation returns (`ThreadPool.run`).
        tsanRelease(core)
        // The caller may still be inside its registering closure: see resumeHidingRuntimeReads.
        resumeHidingRuntimeReads(continuation, with: outcome)
    }

    func discard(with error: any Error) {
        // A cancellation or a shutdown may come while the caller is still inside its
        // registering closure: see resumeHidingRuntimeReads.
        resumeHidingRuntimeReads(continuation, with: .failure(error))
    }
}

/// The job of a ``ThreadPool/submit(_:)``: work nobody waits for.
struct FireJob: PoolJob {
    let work: @Sendable () -> Void

    func run(for core: PoolCore) {
        work()
        core.promiseLook()
    }

    func discard(with error: any Error) {}
}

/// A queued job and the id its caller's cancellation looks it up by.
struct QueuedJob {
    let id: UInt64
    let job: any PoolJob
}

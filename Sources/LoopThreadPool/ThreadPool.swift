public import EventLoop
import LoopUtilities
import Synchronization

/// A fixed set of plain OS threads that run blocking or CPU-heavy work for async tasks, and
/// hand each result back to the task that awaits it.
///
/// ```swift
/// let pool = try ThreadPool(threads: 4, name: "hash")
/// defer { pool.shutdown() }
/// let digest = try await pool.run { expensiveHash(bytes) }  // resumes on the caller's executor
/// ```
///
/// The threads are ordinary pthreads, not Swift tasks: a job may block in a system call,
/// hold a CPU for seconds or call a C library without starving Swift's cooperative pool or
/// an event loop. Jobs run in the order they were accepted, each on whichever worker is free.
///
/// **Cost.** A job costs one allocation, the work closure's context: the queue stores the
/// job and its caller's continuation in place. A worker that has just finished a job spins
/// before it parks, as the pool's idle policy allows (adaptive by default: up to 50 µs,
/// while jobs have been coming that soon), so a steady stream of jobs wakes no thread and makes no system
/// call on either side; a job that finds every worker parked wakes one (one futex wake).
/// A caller whose job an awake worker takes at once spins briefly for its end (not on a loop
/// with other ready work): a short job then returns without suspending the task, and a task
/// on a loop is not woken through the loop's eventfd.
///
/// **Lifetime.** ``shutdown()`` lets the queued jobs run, then ends and joins the threads;
/// ``shutdownNow()`` fails the queued jobs instead. Releasing the last reference to the pool
/// shuts it down as ``shutdown()`` does: the threads hold only the queue, never the pool.
///
/// **Traps.** A job that traps (a failed precondition, a forced unwrap of nil) stops the
/// process, as any Swift trap does: there is no isolation between a job and the process.
/// Throw errors instead; they reach the caller of ``run(_:)``.
///
/// Sendable: use it from any thread or task.
public final class ThreadPool: Sendable {
    /// The queue and the workers' shared state; immutable. The only thing the threads hold.
    let core: PoolCore
    /// The worker threads, by index; immutable. Joined (or, from a worker, detached) by the
    /// first shutdown.
    let threads: [PlainThread]
    /// Any thread, atomic (relaxed: it only elects the one caller that joins the threads;
    /// `pthread_join` orders each thread's end before its return).
    private let joinStarted = Atomic<Bool>(false)

    /// The number of worker threads. Immutable; read it from any thread.
    public var threadCount: Int { threads.count }

    /// The bound on queued jobs, or nil when the queue is unbounded. Immutable; read it from
    /// any thread.
    public let maxQueuedJobs: Int?

    /// The jobs accepted and not yet started, including those of callers waiting for room
    /// in a bounded queue: a snapshot, stale as soon as it returns. Callable from any thread.
    public var queuedJobCount: Int {
        core.state.withLock { $0.queue.count + $0.waitingForRoom.count }
    }

    /// The `run` callers waiting for room in a full bounded queue: a snapshot, for tests.
    var waitingForRoomCount: Int {
        core.state.withLock { $0.waitingForRoom.count }
    }

    /// Starts `threads` worker threads named `name-0`, `name-1`, … Callable from any thread.
    /// - Parameters:
    ///   - threads: how many worker threads to start; at least 1. For CPU-bound work, one
    ///     per CPU the process may use; for blocking work, as many as may block at once.
    ///   - maxQueuedJobs: the most jobs that may wait for a worker, at least 1; nil (the
    ///     default) for no bound. When the queue is full, ``run(_:)`` keeps its caller
    ///     suspended until there is room, and ``submit(_:)`` throws
    ///     ``ThreadPoolError/queueFull``.
    ///   - name: the prefix of the threads' names. The kernel keeps 15 bytes of a thread's
    ///     name, so a long prefix is cut to leave room for the index.
    ///   - idlePolicy: how a worker waits for its next job once it has none (see
    ///     `IdlePolicy`): by default it spins adaptively, up to 50 µs while jobs have been
    ///     coming that soon, before it parks; `.never` parks at once. It is each worker's
    ///     `IdlePolicy.currentThread`, so it also governs the blocking waits a job makes.
    /// - Throws: ``ThreadPoolError/invalidThreadCount`` for `threads` below 1,
    ///   ``ThreadPoolError/invalidQueueLimit`` for `maxQueuedJobs` below 1, and a
    ///   ``ThreadPoolError`` with code ``ThreadPoolError/Code/threadStartFailed`` and the
    ///   `errno` when a thread cannot be created (the threads started before it are ended
    ///   and joined first).
    public init(
        threads: Int,
        maxQueuedJobs: Int? = nil,
        name: String = "pool",
        idlePolicy: IdlePolicy = .adaptive
    ) throws(ThreadPoolError) {
        guard threads >= 1 else { throw .invalidThreadCount }
        if let maxQueuedJobs, maxQueuedJobs < 1 { throw .invalidQueueLimit }
        let core = PoolCore(threads: threads, limit: maxQueuedJobs ?? .max)
        var started: [PlainThread] = []
        started.reserveCapacity(threads)
        do {
            for index in 0..<threads {
                // The thread captures the core and its index only, never the pool.
                started.append(
                    try PlainThread(named: numberedThreadName(name, index)) {
                        IdlePolicy.currentThread = idlePolicy
                        core.runWorker(index)
                    }
                )
            }
        } catch {
            core.stop(discardingQueued: true)
            for thread in started { thread.joinBlocking() }
            throw .threadStartFailed(errno: error.errno)
        }
        self.core = core
        self.threads = started
        self.maxQueuedJobs = maxQueuedJobs
    }

    deinit {
        stopAndJoin(discardingQueued: false)
    }

    /// Runs `work` on one of the pool's threads and returns its result, suspending the
    /// calling task meanwhile. Callable from any task, on any executor (a loop, the global
    /// pool, an actor); it resumes on the caller's executor, with no hop of its own.
    ///
    /// Jobs start in the order they were accepted. When the pool has a bound and its queue
    /// is full, the caller stays suspended, its job waiting in arrival order for room.
    ///
    /// - Parameter work: the job. It runs once, on a worker thread, where it may block. An
    ///   error it throws is rethrown here; a trap in it stops the process.
    /// - Returns: what `work` returned.
    /// - Throws: what `work` threw; ``ThreadPoolError/shutDown`` when the pool has shut down
    ///   (or `shutdownNow()` took the job off the queue before it started);
    ///   `CancellationError` when the task was cancelled before the job started.
    /// - Cancellation: a job whose task is cancelled before a worker has taken it never
    ///   runs, and this call throws `CancellationError`. A job that has started runs to its
    ///   end, and this call returns its result (or throws its error) as usual; dropping that
    ///   result releases it.
    public nonisolated(nonsending) func run<Result: Sendable>(
        _ work: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        let core = self.core
        // Relaxed: only uniqueness matters.
        let id = core.lastID.add(1, ordering: .relaxed).newValue
        let result = try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Result, any Error>) in
                let startsSoon: Bool
                do throws(PoolCore.Rejection) {
                    startsSoon = try core.enqueue(
                        ReplyJob(work: work, continuation: continuation), id: id, waitsForRoom: true)
                } catch {
                    switch error {
                    case .cancelled: continuation.resume(throwing: CancellationError())
                    case .error(let error): continuation.resume(throwing: error)
                    }
                    return
                }
                // A short job on an awake worker often ends within the spin: the task then
                // goes on in place instead of suspending and being woken.
                if startsSoon { core.spinUntilFinished(id) }
            }
        } onCancel: {
            core.cancel(id: id)
        }
        // Pairs with the worker's release before it resumed us (`ReplyJob.run`): a resume
        // that lands while the registering closure is still running continues this task
        // ordered only by the runtime's own (uninstrumented) atomic. Outside TSan a call to
        // an empty function.
        tsanAcquire(core)
        return result
    }

    /// Queues `work` to run on one of the pool's threads, without waiting for it. Callable
    /// from any thread or task; never blocks.
    ///
    /// - Parameter work: the job. It runs once, on a worker thread, where it may block;
    ///   nobody sees its end, so it reports its outcome itself. A trap in it stops the
    ///   process. It is dropped unrun if ``shutdownNow()`` comes first.
    /// - Throws: ``ThreadPoolError/shutDown`` once the pool has shut down;
    ///   ``ThreadPoolError/queueFull`` when the pool's queue is at its bound (it never
    ///   waits for room: retry, or use ``run(_:)``, which does).
    public func submit(_ work: @escaping @Sendable () -> Void) throws(ThreadPoolError) {
        // Relaxed: only uniqueness matters (fire-and-forget jobs are never looked up).
        let id = core.lastID.add(1, ordering: .relaxed).newValue
        do throws(PoolCore.Rejection) {
            _ = try core.enqueue(FireJob(work: work), id: id, waitsForRoom: false)
        } catch {
            switch error {
            case .cancelled: preconditionFailure("submit never checks cancellation")
            case .error(let error): throw error
            }
        }
    }

    /// Shuts the pool down gracefully: accepts no more jobs, lets every queued job run, then
    /// ends the worker threads and waits for them. Idempotent; callable from any thread.
    ///
    /// Blocks the calling thread until the queued and running jobs have ended: call it from
    /// a plain thread, or from a task that may block that long. Only the first call (of this
    /// and ``shutdownNow()``) waits; a later one returns at once. Called from one of the
    /// pool's own threads (inside a job) it cannot wait for itself: it starts the shutdown
    /// and returns, and the threads end on their own once the queue is empty. Afterwards
    /// ``run(_:)`` and ``submit(_:)`` throw ``ThreadPoolError/shutDown``.
    public func shutdown() {
        stopAndJoin(discardingQueued: false)
    }

    /// Shuts the pool down at once: accepts no more jobs, takes every queued job off the
    /// queue unrun (their ``run(_:)`` callers resume with ``ThreadPoolError/shutDown``,
    /// submitted jobs are dropped), waits for the running jobs to end, then ends the worker
    /// threads and waits for them. Idempotent; callable from any thread.
    ///
    /// A running job is never interrupted: the call blocks until the running jobs end. After
    /// a graceful ``shutdown()`` has begun it still drops the jobs not yet started. Called
    /// from one of the pool's own threads it cannot wait for itself: it drops the queue,
    /// starts the shutdown and returns, and the threads end on their own.
    public func shutdownNow() {
        stopAndJoin(discardingQueued: true)
    }

    /// ``shutdown()`` for a task: accepts no more jobs, lets every queued job run, then waits,
    /// suspended, for the worker threads to end, without blocking the task's executor thread
    /// meanwhile. Idempotent with ``shutdown()`` and ``shutdownNow()``: only the first call of
    /// any of them waits; a later one returns at once. Callable from any task; from a job on
    /// one of the pool's own threads it starts the shutdown and returns, as ``shutdown()``
    /// does there.
    ///
    /// Cancellation does not interrupt it: the pool is already stopping, and the call returns
    /// once the queued and running jobs have ended and the threads with them.
    public func shutdownGracefully() async {
        guard stopAndElectJoiner(discardingQueued: false) else { return }
        for thread in threads { await thread.join() }
    }

    /// The common part of every shutdown: stop (each call, so that a `shutdownNow` after a
    /// `shutdown` still drops the queue), then elect the first caller to join the threads.
    /// A worker thread cannot join itself, and joining the others could wait on jobs queued
    /// behind its own: there the threads are detached, to end on their own.
    /// - Returns: whether the caller is to join the threads.
    private func stopAndElectJoiner(discardingQueued: Bool) -> Bool {
        core.stop(discardingQueued: discardingQueued)
        guard !joinStarted.exchange(true, ordering: .relaxed) else { return false }
        guard !threads.contains(where: \.isCurrent) else {
            for thread in threads { thread.detach() }
            return false
        }
        return true
    }

    private func stopAndJoin(discardingQueued: Bool) {
        guard stopAndElectJoiner(discardingQueued: discardingQueued) else { return }
        for thread in threads { thread.joinBlocking() }
    }
}

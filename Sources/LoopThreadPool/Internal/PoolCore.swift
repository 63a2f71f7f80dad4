import EventLoop
import LoopUtilities
import Synchronization

/// What a pool's worker threads and its callers share: the job queue behind one lock, the
/// idle workers' parkers, and the shutdown state. The worker threads hold this object only,
/// never the ``ThreadPool``, so that dropping the last reference to the pool shuts it down.
///
/// Every decision is made under `state`'s lock; every resume, wake and job runs after it is
/// released. A job leaves the queue exactly once, under the lock: popped by a worker (it
/// starts), or removed by its caller's cancellation or by `shutdownNow()` (it fails). So a
/// job either runs or fails, never both, and its caller resumes exactly once.
final class PoolCore: Sendable {
    /// The queue and the workers' states; protected by its lock.
    struct State: ~Copyable {
        /// Jobs accepted and waiting for a worker, oldest first; at most `limit` of them.
        var queue = RingBuffer<QueuedJob>(minimumCapacity: 64)
        /// `run` jobs accepted while `queue` was full, oldest first: their callers wait for
        /// room. Each worker that takes a job from `queue` moves the oldest one of these in.
        var waitingForRoom = RingBuffer<QueuedJob>(minimumCapacity: 2)
        /// Indices of the workers parked with an empty queue, the most recent last; each is
        /// woken by whoever removes it from here. Capacity for every worker, so no append
        /// allocates.
        var idle: [Int]
        /// False once `shutdown()` or `shutdownNow()` has begun: no job is accepted.
        var accepting = true

        init(threads: Int) {
            idle = []
            idle.reserveCapacity(threads)
        }
    }

    /// Protected by its lock.
    let state: LockedValue<State>
    /// One parker per worker, by index; immutable array, each parker used from any thread.
    let parkers: [ThreadParker]
    /// The bound of `queue` (`Int.max`: none); immutable.
    let limit: Int
    /// Any thread, atomic (relaxed): `queue.count`, stored under the lock at each change, so
    /// that a spinning worker can watch for a job without the lock. Relaxed is enough: it
    /// only tells the spinner when to take the lock, which then orders the job's contents.
    let queuedCount = Atomic<Int>(0)
    /// Any thread, atomic (relaxed): the last job id handed out. Only uniqueness matters.
    let lastID = Atomic<UInt64>(0)
    /// Any thread, atomic: the workers that will look at the queue again before they park —
    /// those spinning on `queuedCount`, and those that have finished a job's work and are
    /// handing its outcome back. While one is counted, a new job wakes no parked worker: it
    /// takes the job without a system call on either side.
    ///
    /// A worker adds itself outside the lock (the promise of a look) and removes itself
    /// under the lock (the look, in the same critical section that pops or parks). So a
    /// producer's read under the lock never sees a look that has already happened: it either
    /// sees the count fall (and wakes a parked worker) or its job is seen by the look.
    /// Relaxed is enough for both: the lock orders the removal before any later producer's
    /// read, and a stale read of an addition only costs a wake that was not needed.
    let spinners = Atomic<Int>(0)
    /// Any thread, atomic (relaxed): the id of the last `run` job whose caller a worker has
    /// resumed, stored after the resume. A caller that spins for its own job's end watches
    /// it. It is only a hint to stop spinning: the continuation alone carries the outcome
    /// and its ordering, whichever side comes first; a value overwritten by another job's id
    /// only makes a spinning caller suspend as usual.
    let lastFinishedID = Atomic<UInt64>(0)

    init(threads: Int, limit: Int) {
        state = LockedValue(State(threads: threads))
        parkers = (0..<threads).map { _ in ThreadParker() }
        self.limit = limit
    }

    deinit {
        state.withLock { state in
            state.queue.releaseStorage()
            state.waitingForRoom.releaseStorage()
        }
    }

    // MARK: Callers

    /// Why a job was not accepted.
    enum Rejection: Error {
        case cancelled
        case error(ThreadPoolError)
    }

    /// Appends a job from `run` (which may wait for room) or `submit` (which may not), and
    /// wakes a parked worker when none is spinning. For `run`, also refuses a job whose task
    /// is already cancelled: that read of the flag is under the lock, so a cancellation
    /// either comes before it (the job is refused) or its handler comes after the append
    /// (and finds the job, unless a worker has started it).
    /// - Returns: whether a worker that is awake will take the job at once (there are at
    ///   least as many spinners as queued jobs): then its end is worth a brief wait.
    func enqueue(_ job: any PoolJob, id: UInt64, waitsForRoom: Bool) throws(Rejection) -> Bool {
        let (wake, startsSoon) = try state.withLock { state throws(Rejection) -> (Int?, Bool) in
            if waitsForRoom && Task.isCancelled { throw .cancelled }
            guard state.accepting else { throw .error(.shutDown) }
            if state.queue.count >= limit {
                guard waitsForRoom else { throw .error(.queueFull) }
                state.waitingForRoom.append(QueuedJob(id: id, job: job))
                return (nil, false)
            }
            state.queue.append(QueuedJob(id: id, job: job))
            // Relaxed: see `queuedCount`.
            queuedCount.store(state.queue.count, ordering: .relaxed)
            // Relaxed: see `spinners`.
            let spinners = spinners.load(ordering: .relaxed)
            if spinners == 0 { return (state.idle.popLast(), false) }
            return (nil, spinners >= state.queue.count)
        }
        if let wake { parkers[wake].unpark() }
        return startsSoon
    }

    /// Spins briefly until a worker has resumed the caller of job `id`, so that the resume
    /// lands while the caller is still inside its registering closure: the runtime then
    /// continues the task in place, with no suspension and no wake-up of its executor (for a
    /// task on a loop, no eventfd write and no epoll wait). Called from `run`'s registering
    /// closure, only for a job that an awake worker takes at once.
    ///
    /// Gives up after the package's bounded spin (`Backoff`), or at once when the calling
    /// thread runs a loop that has other ready work, which the spin would only delay (the
    /// channels' receive follows the same rule). Correct whichever way it ends: the
    /// continuation decides.
    func spinUntilFinished(_ id: UInt64) {
        var backoff = Dispatcher.currentLoopHasReadyWork ? Backoff.spent : Backoff()
        // Relaxed: see `lastFinishedID`.
        while lastFinishedID.load(ordering: .relaxed) != id && backoff.pauseIfNotSpent() {}
    }

    /// Counts the calling worker in `spinners`: its promise to look at the queue again
    /// before it parks. Called by each job's `run` once its work has ended, before it hands
    /// the outcome back, so that a caller that enqueues its next job as soon as it has the
    /// outcome finds the worker counted and wakes no other.
    func promiseLook() {
        // Relaxed: see `spinners`.
        spinners.add(1, ordering: .relaxed)
    }

    /// Removes the job `id` if no worker has started it and fails its caller with
    /// `CancellationError`; does nothing when it has started (it runs to the end and its
    /// caller gets its outcome) or was already removed. Any thread; the cancellation handler
    /// of `run`.
    func cancel(id: UInt64) {
        let removed = state.withLock { state -> (any PoolJob)? in
            if let found = state.queue.removeFirst(where: { $0.id == id }) {
                state.refillFromWaiting()
                // Relaxed: see `queuedCount`.
                queuedCount.store(state.queue.count, ordering: .relaxed)
                return found.job
            }
            return state.waitingForRoom.removeFirst(where: { $0.id == id })?.job
        }
        removed?.discard(with: CancellationError())
    }

    // MARK: Shutdown

    /// Stops accepting jobs and wakes every parked worker; with `discardingQueued`, also
    /// takes the queued jobs off and fails their callers with ``ThreadPoolError/shutDown``.
    /// Workers end once the queue is empty. Idempotent; any thread.
    func stop(discardingQueued: Bool) {
        let (wake, discarded) = state.withLock { state -> ([Int], [QueuedJob]) in
            state.accepting = false
            let wake = state.idle
            state.idle.removeAll(keepingCapacity: true)
            guard discardingQueued else { return (wake, []) }
            var discarded = state.queue.removeAll()
            discarded += state.waitingForRoom.removeAll()
            // Relaxed: see `queuedCount`.
            queuedCount.store(0, ordering: .relaxed)
            return (wake, discarded)
        }
        for job in discarded { job.job.discard(with: ThreadPoolError.shutDown) }
        for index in wake { parkers[index].unpark() }
    }

    // MARK: Workers

    /// What a worker does next, decided under the lock.
    private enum Step {
        /// Run this job; first wake the parked worker `wake`, if any, for the jobs behind it.
        case run(any PoolJob, id: UInt64, wake: Int?)
        /// Spin briefly on `queuedCount` before parking (counted in `spinners`).
        case spin
        /// Park until a producer or a shutdown wakes it (listed in `idle`).
        case park
        /// The pool stopped and the queue is empty: end the thread.
        case exit
    }

    /// The body of worker `index`: runs jobs until the pool stops and its queue is empty.
    /// After a job, and with no job after a wake, it spins (`spinForJob`, as the worker's idle
    /// policy allows) before it looks at the queue under the lock, so that a job that comes soon costs no system call
    /// on either side; it parks when that look finds the queue empty.
    func runWorker(_ index: Int) {
        let parker = parkers[index]
        var mayspin = true
        // Whether `spinners` counts this worker: its next look removes it.
        var counted = false
        while true {
            let step = state.withLock { state -> Step in
                // Relaxed: see `spinners`; this is the look the count promised.
                if counted { spinners.subtract(1, ordering: .relaxed) }
                if let next = state.queue.popFirst() {
                    state.refillFromWaiting()
                    // Relaxed: see `queuedCount`.
                    queuedCount.store(state.queue.count, ordering: .relaxed)
                    // More work than this worker: pass a wake on, unless a spinner will take it.
                    let wake =
                        !state.queue.isEmpty && spinners.load(ordering: .relaxed) == 0 ? state.idle.popLast() : nil
                    return .run(next.job, id: next.id, wake: wake)
                }
                if !state.accepting { return .exit }
                if mayspin {
                    // Relaxed: see `spinners`.
                    spinners.add(1, ordering: .relaxed)
                    return .spin
                }
                state.idle.append(index)
                return .park
            }
            counted = false
            switch step {
            case .run(let job, let id, let wake):
                if let wake { parkers[wake].unpark() }
                // Counts this worker in `spinners` before it hands the outcome back.
                job.run(for: self)
                // Relaxed: see `lastFinishedID`.
                lastFinishedID.store(id, ordering: .relaxed)
                spinForJob()
                counted = true
                mayspin = false
            case .spin:
                spinForJob()
                counted = true
                mayspin = false
            case .park:
                // A wake may have come already (it is kept), or come from an earlier round
                // (the loop just looks again): the queue, not the wake, decides.
                parker.park()
                mayspin = true
            case .exit:
                return
            }
        }
    }

    /// A worker's spin until a job is queued, as its idle policy (the pool's, set as the
    /// worker thread's `IdlePolicy.currentThread`) allows; the lock taken next orders the job.
    ///
    /// Longer than the package's brief bounded spin: by default adaptive, up to 50 µs. A
    /// result handed to a task on a sleeping loop comes back as the next job only after the
    /// loop's wake-up from epoll (about 10 µs per job one at a time on the benchmark VM); a
    /// worker that parked before that makes every later job pay a futex wake and, because
    /// the caller then does not spin, an eventfd wake of the loop. With the longer spin the
    /// worker is still awake, the caller spins for its job, and the loop stops sleeping
    /// (`pool-roundtrip`: from about 1 to 0.01–0.18 dispatcher system calls per job with a
    /// fixed 25 µs spin). The adaptive policy stops spinning when jobs come rarely.
    private func spinForJob() {
        var spin = IdleWait.forPlainThread()
        // Relaxed: see `queuedCount`.
        _ = spin.spin { queuedCount.load(ordering: .relaxed) == 0 }
    }
}

extension PoolCore.State {
    /// After a job left `queue`: moves the oldest caller waiting for room into it.
    mutating func refillFromWaiting() {
        if let waiting = waitingForRoom.popFirst() { queue.append(waiting) }
    }
}

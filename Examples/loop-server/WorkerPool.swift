import AsyncChannels
import ExampleSupport
import Glibc
import Hatch
import Synchronization

/// One request for the pool: the `n`-th prime, answered through a oneshot hatch.
struct PrimeJob: Sendable {
    let n: Int
    let reply: HatchSender<Int>
}

/// Plain pthreads that take ``PrimeJob``s from a channel with the blocking `receiveSync()`,
/// compute on their own thread (never on the event loop), and answer through each job's
/// oneshot. A job whose receiver is gone (its client disconnected, or its connection was
/// cancelled) has its result discarded and counted.
final class PrimeWorkers: Sendable {
    /// The job queue; any thread or task may submit with `send`.
    let jobs = AsyncChannel<PrimeJob>()
    /// Results no one was left to receive.
    let discarded = Atomic<Int>(0)
    private let pool: LockedPool

    /// Starts `count` worker threads; at least 1.
    init(count: Int) {
        pool = LockedPool()
        let started = WorkerPool(count: count, jobs: jobs) { [self] job in
            if job.reply.isClosed {
                // Its client went away while the job was queued: skip the work.
                discarded.add(1, ordering: .relaxed)
                return
            }
            do {
                try job.reply.trySend(nthPrime(job.n))
            } catch {
                // The receiver was released: a discarded result, not a failure.
                discarded.add(1, ordering: .relaxed)
            }
        }
        pool.threads.withLock { $0 = started }
    }

    /// Closes the job queue, lets the threads finish what is queued, and joins them.
    /// Blocks: call it from a plain thread, not from the loop. Idempotent.
    func shutdown() {
        jobs.close()
        let started = pool.threads.withLock { threads in
            defer { threads = nil }
            return threads
        }
        started?.join()
    }
}

/// The started pool, taken once by `shutdown()`.
private final class LockedPool: Sendable {
    let threads = Mutex<WorkerPool<PrimeJob>?>(nil)
}

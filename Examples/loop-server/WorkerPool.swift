import AsyncChannels
import Glibc
import Hatch
import Synchronization

/// One request for the pool: the `n`-th prime, answered through a oneshot hatch.
struct PrimeJob: Sendable {
    let n: Int
    let reply: HatchSender<Int>
}

/// Plain pthreads that take ``PrimeJob``s from a channel with the blocking `recvSync()`,
/// compute on their own thread (never on the event loop), and answer through each job's
/// oneshot. A job whose receiver is gone (its client disconnected, or its connection was
/// cancelled) has its result discarded and counted.
final class WorkerPool: Sendable {
    /// The job queue; any thread or task may submit with `send`.
    let jobs = AsyncChannel<PrimeJob>()
    /// Results no one was left to receive.
    let discarded = Atomic<Int>(0)
    private let threads: Mutex<[pthread_t]>

    /// Starts `count` worker threads; at least 1.
    init(count: Int) {
        precondition(count > 0, "a worker pool needs at least one thread")
        threads = Mutex([])
        let jobs = self.jobs
        let started = (0..<count).map { _ in
            startThread { [self] in
                while let job = try? jobs.recvSync() {
                    if job.reply.isClosed {
                        // Its client went away while the job was queued: skip the work.
                        discarded.add(1, ordering: .relaxed)
                        continue
                    }
                    do {
                        try job.reply.trySend(nthPrime(job.n))
                    } catch {
                        // The receiver was released: a discarded result, not a failure.
                        discarded.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        threads.withLock { $0 = started }
    }

    /// Closes the job queue, lets the threads finish what is queued, and joins them.
    /// Blocks: call it from a plain thread, not from the loop. Idempotent.
    func shutdown() {
        jobs.close()
        let started = threads.withLock { threads in
            defer { threads = [] }
            return threads
        }
        for thread in started { pthread_join(thread, nil) }
    }
}

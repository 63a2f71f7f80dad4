import AsyncChannels
import Glibc

/// A fixed set of plain pthreads that take jobs from a channel with the blocking
/// `recvSync()` and hand each one to `work`, until the channel is closed and drained.
///
/// The threads are ordinary OS threads, not Swift tasks: they may block, spin or call C
/// libraries without starving the cooperative pool or an event loop.
final class WorkerPool<Job: Sendable>: Sendable {
    private let threads: [pthread_t]

    /// Starts `count` threads that run `work` for every job received from `jobs`.
    /// - Parameters:
    ///   - count: how many threads to start; at least 1.
    ///   - jobs: the channel the threads drain; close it to let them finish.
    ///   - work: what a thread does with one job. Runs on the worker threads, concurrently.
    init(count: Int, jobs: AsyncChannel<Job>, work: @escaping @Sendable (Job) -> Void) {
        precondition(count > 0, "a worker pool needs at least one thread")
        threads = (0..<count).map { _ in
            let body = WorkerBody { while let job = try? jobs.recvSync() { work(job) } }
            let context = Unmanaged.passRetained(body).toOpaque()
            var thread = pthread_t()
            // The C callback lives in this file, not main.swift: a closure there would
            // inherit main-actor isolation and trap when run on the new thread.
            let status = pthread_create(
                &thread, nil,
                { raw in
                    Unmanaged<WorkerBody>.fromOpaque(raw!).takeRetainedValue().run()
                    return nil
                }, context)
            precondition(status == 0, "pthread_create failed: \(status)")
            return thread
        }
    }

    /// Waits for every thread to finish. Call it once, from a plain thread (it blocks),
    /// after closing the job channel.
    func join() {
        for thread in threads { pthread_join(thread, nil) }
    }
}

/// What one worker thread runs, boxed so that it can cross `pthread_create`'s `void *`.
private final class WorkerBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

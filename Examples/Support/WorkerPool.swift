public import AsyncChannels
import LoopUtilities

/// A fixed set of plain pthreads that take jobs from a channel with the blocking
/// `receiveSync()` and hand each one to `work`, until the channel is closed and drained.
/// Shared by the examples; not part of the library.
///
/// The threads are ordinary OS threads, not Swift tasks: they may block, spin or call C
/// libraries without starving the cooperative pool or an event loop.
public final class WorkerPool<Job: Sendable>: Sendable {
    private let threads: [PlainThread]

    /// Starts `count` threads that run `work` for every job received from `jobs`.
    /// - Parameters:
    ///   - count: how many threads to start; at least 1.
    ///   - jobs: the channel the threads drain; close it to let them finish.
    ///   - work: what a thread does with one job. Runs on the worker threads, concurrently.
    public init(count: Int, jobs: AsyncChannel<Job>, work: @escaping @Sendable (Job) -> Void) {
        precondition(count > 0, "a worker pool needs at least one thread")
        threads = (0..<count).map { _ in
            PlainThread { while let job = try? jobs.receiveSync() { work(job) } }
        }
    }

    /// Waits for every thread to finish. Call it once, from a plain thread (it blocks),
    /// after closing the job channel.
    public func join() {
        for thread in threads { thread.joinBlocking() }
    }
}

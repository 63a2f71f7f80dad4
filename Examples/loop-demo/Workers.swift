import AsyncChannels
import ExampleSupport
import Hatch

/// One unit of CPU work: count the primes below `limit`; the answer goes back through `reply`.
struct Job: Sendable {
    let id: Int
    let limit: Int
    let reply: HatchSender<Int>
}

/// Counts primes below `limit` by trial division: deliberately CPU-bound work that belongs
/// on a plain thread, not on the event loop.
func countPrimes(below limit: Int) -> Int {
    guard limit > 2 else { return 0 }
    var count = 1  // 2
    var candidate = 3
    while candidate < limit {
        var isPrime = true
        var divisor = 3
        while divisor * divisor <= candidate {
            if candidate % divisor == 0 {
                isPrime = false
                break
            }
            divisor += 2
        }
        if isPrime { count += 1 }
        candidate += 2
    }
    return count
}

/// Starts `count` plain pthreads that take jobs with the blocking `receiveSync` until the
/// channel is closed and drained, and answer each job through its oneshot hatch.
func startWorkers(count: Int, jobs: AsyncChannel<Job>) -> WorkerPool<Job> {
    WorkerPool(count: count, jobs: jobs) { job in
        _ = try? job.reply.trySend(countPrimes(below: job.limit))
    }
}

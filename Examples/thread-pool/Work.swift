/// One job of the pool: compute ``collatzSteps(_:)`` of `input`. Plain data, so it crosses
/// threads without carrying anything of the loop.
struct Job: Sendable {
    /// The submission index; it also names the job's slot in the ``CompletionWindow``.
    let id: Int
    let input: Int
}

/// A finished job, posted by a worker thread to the pool's single result channel.
struct JobResult: Sendable {
    let id: Int
    let value: Int
}

/// The input of job `id`: spread out so that neighbouring jobs cost very different amounts
/// of work and finish out of submission order.
func input(forJob id: Int) -> Int {
    1 + (id &* 2_654_435_761) % 1_000_003
}

/// The number of Collatz steps from `n` down to 1: cheap, CPU-bound, and irregular.
func collatzSteps(_ n: Int) -> Int {
    var n = n
    var steps = 0
    while n > 1 {
        n = n % 2 == 0 ? n / 2 : 3 * n + 1
        steps += 1
    }
    return steps
}

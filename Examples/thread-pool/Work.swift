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

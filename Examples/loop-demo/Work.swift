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

/// The limit of job `id`: 2,000 to 21,600 in steps of 400, so that jobs cost different amounts.
func limit(forJob id: Int) -> Int {
    2_000 + (id % 50) * 400
}

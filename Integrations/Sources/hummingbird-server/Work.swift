import Glibc

// The work the routes hand to the pool: each runs on a worker thread, never on Hummingbird's
// event loops or Swift's cooperative pool.

/// The largest `n` that `GET /prime/:n` accepts: its prime, 1,299,709, takes trial division
/// a fraction of a second in a debug build.
let maxPrimeIndex = 100_000

/// The `n`-th prime (`nthPrime(1) == 2`) by trial division: deliberately CPU-bound.
func nthPrime(_ n: Int) -> Int {
    precondition(n >= 1, "primes are counted from 1")
    if n == 1 { return 2 }
    var found = 1
    var candidate = 1
    while found < n {
        candidate += 2
        var divisor = 3
        var isPrime = true
        while divisor * divisor <= candidate {
            if candidate % divisor == 0 {
                isPrime = false
                break
            }
            divisor += 2
        }
        if isPrime { found += 1 }
    }
    return candidate
}

/// The 64-bit FNV-1a checksum of `bytes`, as 16 lowercase hexadecimal digits.
func fnv1a64Hex(_ bytes: some Sequence<UInt8>) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01b3
    }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

/// Blocks the calling thread for `milliseconds`: a stand-in for a blocking call (a C
/// library, a synchronous file or database API).
func blockingCall(milliseconds: Int) {
    var request = timespec(tv_sec: milliseconds / 1_000, tv_nsec: (milliseconds % 1_000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

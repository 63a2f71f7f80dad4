/// The loop-server protocol that both `server-lines` servers speak, shared so that they
/// differ only in how they move bytes and jobs: each request line `n` (1…100000) is
/// answered with the `n`-th prime, computed by trial division; any other line with an
/// `error: …` line, and the connection stays open.
enum LineProtocol {
    /// The largest `n` served, as in the loop-server example.
    static let maxN = 100_000
    /// The longest request line accepted; a longer one is answered with an error line.
    static let maxLineLength = 1024

    /// What one request line asks for.
    enum Request {
        case prime(Int)
        case malformed(StaticString)
    }

    /// Parses one line without its newline: decimal digits, with an optional trailing
    /// `\r`. Allocates nothing.
    static func parse(_ line: UnsafeRawBufferPointer) -> Request {
        var bytes = line[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { return .malformed("error: empty request: send a number n in 1...100000\n") }
        var n = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                return .malformed("error: not a number\n")
            }
            n = n &* 10 &+ Int(byte &- UInt8(ascii: "0"))
            if n > maxN { return .malformed("error: n must be in 1...100000\n") }
        }
        return n >= 1 ? .prime(n) : .malformed("error: n must be in 1...100000\n")
    }

    /// The error line for a request line longer than ``maxLineLength``.
    static let tooLong: StaticString = "error: line longer than 1024 bytes\n"

    /// Writes `value` in decimal and a newline into `buffer` (at least 21 bytes), and
    /// returns how many bytes it wrote. Allocates nothing.
    static func formatReply(_ value: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(value >= 0 && buffer.count >= 21, "a reply is a non-negative Int in a 21-byte buffer")
        var digits = 0
        var rest = value
        repeat {
            digits += 1
            rest /= 10
        } while rest > 0
        rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            buffer[index] = UInt8(ascii: "0") &+ UInt8(rest % 10)
            rest /= 10
        }
        buffer[digits] = UInt8(ascii: "\n")
        return digits + 1
    }
}

/// The `n`-th prime (`nthPrime(1) == 2`) by trial division, as the loop-server example
/// computes it: the job both servers run on their thread pools.
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

/// The first `count` primes by a sieve of Eratosthenes: the client checks every answer
/// against these, computed independently of the servers' trial division.
func sievePrimes(count: Int) -> [Int] {
    var limit = 64
    while true {
        var composite = [Bool](repeating: false, count: limit + 1)
        var primes: [Int] = []
        for candidate in 2...limit where !composite[candidate] {
            primes.append(candidate)
            if primes.count == count { return primes }
            var multiple = candidate * candidate
            while multiple <= limit {
                composite[multiple] = true
                multiple += candidate
            }
        }
        limit *= 2
    }
}

/// The `n`-th prime (`nthPrime(1) == 2`) by trial division: deliberately CPU-bound work that
/// belongs on a worker thread, not on the event loop.
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

/// What one request line asks for, or why it is not a request.
enum Request: Equatable {
    case prime(Int)
    case malformed(String)

    /// The largest `n` served: the 100,000th prime (1,299,709) takes a worker a few
    /// tens of milliseconds.
    static let maxN = 100_000

    /// Parses one line (without its newline): a decimal `n` in `1...maxN`, with optional
    /// surrounding spaces and a trailing `\r`.
    init(line: Substring) {
        let text = line.trimmingSpaces
        guard !text.isEmpty else {
            self = .malformed("empty request: send a number n in 1...\(Request.maxN)")
            return
        }
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            self = .malformed("not a number: \(text.quotedForReply)")
            return
        }
        guard let n = Int(text), (1...Request.maxN).contains(n) else {
            self = .malformed("n must be in 1...\(Request.maxN), got \(text.prefix(20))")
            return
        }
        self = .prime(n)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }

    /// The text quoted for an error line: at most 40 characters, control characters escaped.
    fileprivate var quotedForReply: String {
        let shown = prefix(40).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }
        return "\"" + shown.joined() + (count > 40 ? "…" : "") + "\""
    }
}

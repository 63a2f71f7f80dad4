import Glibc
import Synchronization

// Helpers for the Reliability* tests: reproducible seeds, exact accounting of elements,
// and a coarse view of the heap.

/// A small deterministic PRNG (SplitMix64) so that a failing sequence can be replayed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability 1/`n`.
    public mutating func oneIn(_ n: UInt64) -> Bool { next() % n == 0 }
}

/// The seeds a model-based or randomized test runs with: the one in `LOOPCHANNELS_SEED`
/// when it is set (to replay a failure), else `count` fresh random seeds.
public func reliabilitySeeds(_ count: Int) -> [UInt64] {
    if let raw = getenv("LOOPCHANNELS_SEED"), let seed = UInt64(String(cString: raw)) { return [seed] }
    var system = SystemRandomNumberGenerator()
    return (0..<count).map { _ in system.next() }
}

/// How to replay a failure of a seeded test.
public func replayHint(_ seed: UInt64) -> String {
    "seed \(seed) (replay with LOOPCHANNELS_SEED=\(seed) swift test --filter Reliability)"
}

/// A fixed-size set of small integers, written by one thread at a time: each party of a
/// stress test records the element ids it ended up with, and ``Bitmap/partition(_:count:)``
/// then proves that every id is in exactly one of them.
public final class Bitmap: @unchecked Sendable {
    // @unchecked Sendable: a bitmap has a single writer; readers look only after that
    // writer has been joined (task value or thread join), which orders the accesses.
    private let words: UnsafeMutablePointer<UInt64>
    private let wordCount: Int
    /// Inserts of an id that was already present (a duplicate delivery).
    public private(set) var duplicates = 0

    public init(count: Int) {
        wordCount = (count + 63) / 64
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
    }

    deinit { words.deallocate() }

    public func insert(_ id: Int) {
        let bit: UInt64 = 1 << UInt64(id & 63)
        if words[id >> 6] & bit != 0 { duplicates += 1 }
        words[id >> 6] |= bit
    }

    public var count: Int {
        var total = 0
        for i in 0..<wordCount { total += words[i].nonzeroBitCount }
        return total
    }

    /// Ids `0..<count` that are in none of `maps` (`missing`) and ids found in more than
    /// one map or inserted twice into one (`duplicated`).
    public static func partition(_ maps: [Bitmap], count: Int) -> (missing: Int, duplicated: Int) {
        var missing = 0
        var duplicated = maps.reduce(0) { $0 + $1.duplicates }
        let wordCount = (count + 63) / 64
        for i in 0..<wordCount {
            var seen: UInt64 = 0
            for map in maps {
                duplicated += (seen & map.words[i]).nonzeroBitCount
                seen |= map.words[i]
            }
            let bitsInWord = min(64, count - i * 64)
            let expected: UInt64 = bitsInWord == 64 ? ~0 : (1 << UInt64(bitsInWord)) - 1
            missing += (expected & ~seen).nonzeroBitCount
        }
        return (missing, duplicated)
    }
}

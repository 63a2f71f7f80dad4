/// SHA-256 (FIPS 180-4), enough of it for the pipeline: feed bytes with ``update(bufferPointer:)``
/// as they come, then ``finalize()`` once. Written for this example so that the package
/// depends on nothing; the self-test checks every digest against the system's `sha256sum`.
///
/// A value type: each hasher thread keeps its own.
struct SHA256 {
    /// The digest's length in bytes.
    static let byteCount = 32

    /// The 32 bytes of a finished hash, most significant first.
    typealias Digest = [UInt8]

    /// The eight working words between blocks (H0…H7).
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    /// The bytes of an unfinished block, `pendingCount` of them.
    private var pending = [UInt8](repeating: 0, count: 64)
    private var pendingCount = 0
    /// Every byte fed so far; the padding ends with it, in bits.
    private var totalBytes: UInt64 = 0

    /// Feeds `bytes` to the hash.
    mutating func update(bufferPointer bytes: UnsafeRawBufferPointer) {
        totalBytes &+= UInt64(bytes.count)
        var offset = 0
        if pendingCount > 0 {
            let taken = min(64 - pendingCount, bytes.count)
            for index in 0..<taken { pending[pendingCount + index] = bytes[index] }
            pendingCount += taken
            offset = taken
            guard pendingCount == 64 else { return }
            pending.withUnsafeBytes { compress($0) }
            pendingCount = 0
        }
        while bytes.count - offset >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 64]))
            offset += 64
        }
        for index in offset..<bytes.count { pending[pendingCount + index - offset] = bytes[index] }
        pendingCount += bytes.count - offset
    }

    /// Pads the message, hashes the last block or two and returns the digest.
    consuming func finalize() -> Digest {
        let bitLength = totalBytes &* 8
        var tail: [UInt8] = Array(pending[0..<pendingCount]) + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) {
            tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        tail.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 64) {
                compress(UnsafeRawBufferPointer(rebasing: all[start..<start + 64]))
            }
        }
        var digest: Digest = []
        digest.reserveCapacity(Self.byteCount)
        for word in [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7] {
            for shift in stride(from: 24, through: 0, by: -8) {
                digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift)))
            }
        }
        return digest
    }

    /// Hashes one 64-byte block into `state`.
    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        // Written for unoptimized builds too (`swift run` builds for debugging): plain locals
        // and pointer arithmetic, no closures, no per-byte subscripts.
        let bytes = block.baseAddress!
        let k = roundConstantsPointer
        // The message schedule lives on the stack: no allocation per block.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
            let w = schedule.baseAddress!
            var index = 0
            while index < 16 {
                w[index] = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self))
                index &+= 1
            }
            while index < 64 {
                let x = w[index &- 15]
                let y = w[index &- 2]
                let s0 = (x &>> 7 | x &<< 25) ^ (x &>> 18 | x &<< 14) ^ (x &>> 3)
                let s1 = (y &>> 17 | y &<< 15) ^ (y &>> 19 | y &<< 13) ^ (y &>> 10)
                w[index] = w[index &- 16] &+ s0 &+ w[index &- 7] &+ s1
                index &+= 1
            }
            var (a, b, c, d, e, f, g, h) = state
            index = 0
            while index < 64 {
                let s1 = (e &>> 6 | e &<< 26) ^ (e &>> 11 | e &<< 21) ^ (e &>> 25 | e &<< 7)
                let choice = (e & f) ^ (~e & g)
                let t1 = h &+ s1 &+ choice &+ k[index] &+ w[index]
                let s0 = (a &>> 2 | a &<< 30) ^ (a &>> 13 | a &<< 19) ^ (a &>> 22 | a &<< 10)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                h = g
                g = f
                f = e
                e = d &+ t1
                d = c
                c = b
                b = a
                a = t1 &+ s0 &+ majority
                index &+= 1
            }
            state = (
                state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h
            )
        }
    }
}

/// The first 32 bits of the fractional parts of the cube roots of the first 64 primes, in
/// memory allocated once and never freed, so that `compress` reads them through a pointer.
/// `nonisolated(unsafe)`: written once, by the global's thread-safe lazy initialization, and
/// only read after that, from any thread.
nonisolated(unsafe) private let roundConstantsPointer: UnsafePointer<UInt32> = {
    let constants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
    let memory = UnsafeMutablePointer<UInt32>.allocate(capacity: constants.count)
    memory.initialize(from: constants, count: constants.count)
    return UnsafePointer(memory)
}()

/// The payload format: 64-bit words derived from the payload's sequence number and the word's
/// position, so a receiver can check every byte without a copy of what was sent.
enum Payload {
    /// The word at `index` of payload `sequence`.
    @inline(__always)
    static func word(sequence: Int, index: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: sequence) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: index)
            &* 0xBF58_476D_1CE4_E5B9
    }

    /// Writes payload `sequence` into `bytes`, whose count must be a multiple of 8.
    static func fill(_ bytes: UnsafeMutableRawBufferPointer, sequence: Int) {
        precondition(bytes.count % 8 == 0, "payload sizes are whole 64-bit words")
        for index in 0..<bytes.count / 8 {
            bytes.storeBytes(of: word(sequence: sequence, index: index), toByteOffset: index * 8, as: UInt64.self)
        }
    }

    /// Checks every byte of payload `sequence`.
    /// - Returns: how many 64-bit words differ from what ``fill(_:sequence:)`` wrote; 0 when
    ///   the payload is intact.
    static func mismatches(in bytes: UnsafeRawBufferPointer, sequence: Int) -> Int {
        var wrong = 0
        for index in 0..<bytes.count / 8
        where bytes.load(fromByteOffset: index * 8, as: UInt64.self) != word(sequence: sequence, index: index) {
            wrong += 1
        }
        return wrong
    }
}

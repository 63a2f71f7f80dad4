import EventLoop
import Glibc

/// `--self-test`: every byte of every payload, every sequence number exactly once, and every
/// buffer back in its pool, for both transports, both payload sizes and two producers; then
/// the ownership checks that make handles safe.
/// - Returns: whether every check passed.
func runSelfTest(on dispatcher: Dispatcher) async throws -> Bool {
    var passed = true
    func check(_ condition: Bool, _ description: String) {
        print("  \(condition ? "ok  " : "FAIL") \(description)")
        passed = passed && condition
    }
    print("self-test:")
    let configurations: [(size: Int, count: Int, inFlight: Int)] = [
        (64 << 10, 1024, 8), (4 << 20, 24, 4), (64 << 10, 256, 1),
    ]
    for configuration in configurations {
        for transport in Transport.allCases {
            let trial = Trial(
                transport: transport, payloadSize: configuration.size, payloadCount: configuration.count,
                producerCount: 2, inFlight: configuration.inFlight)
            let outcome = try await trial.run(on: dispatcher)
            check(
                outcome.passed(expecting: trial.payloadCount),
                "\(transport.rawValue), \(configuration.count) x \(configuration.size >> 10) KiB, 2 producers, "
                    + "\(configuration.inFlight) in flight: \(outcome.received) received, \(outcome.duplicates) "
                    + "duplicates, \(outcome.wrongWords) wrong words, \(outcome.wrongSizes) wrong sizes, "
                    + "pool \(outcome.buffersIn)/\(outcome.buffersOwned) back, \(outcome.buffersOut) out "
                    + "(\(format(outcome.megabytesPerSecond(payloadSize: trial.payloadSize))) MB/s)")
        }
    }

    // Ownership: a ticket claims its buffer once; dropping the lease returns it to the pool.
    let pool = BufferPool(capacity: 2, bufferSize: 64)
    let lease = pool.checkOut()
    lease.count = 8
    let ticket = lease.send()
    check(pool.checkedOut == 1 && pool.available == 1, "a sent buffer stays out of the pool")
    var claimedTwice = false
    do {
        let claimed = ticket.claim()
        if let _ = ticket.tryClaim() { claimedTwice = true }
        check(!claimedTwice && claimed.count == 8, "a ticket is claimed once; a second claim is refused")
    }
    check(pool.checkedOut == 0 && pool.available == 2, "dropping the lease returns the buffer to the pool")
    return passed
}

/// The middle value (the mean of the two middle values for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// `value` with `digits` decimals (Glibc's printf, without Foundation).
func format(_ value: Double, digits: Int = 1) -> String {
    var text = [CChar](repeating: 0, count: 64)
    _ = withVaList([digits, value]) { vsnprintf(&text, text.count, "%.*f", $0) }
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `text` right-aligned in `width` columns.
func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Writes `text` to standard error.
func writeError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

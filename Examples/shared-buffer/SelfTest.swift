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

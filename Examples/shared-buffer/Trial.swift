import AsyncChannels
import EventLoop
import LoopUtilities

/// How payloads travel from the producer threads to the loop task.
enum Transport: String, CaseIterable, Sendable {
    /// A ``BufferTicket`` per payload through an ``AsyncChannel``; the bytes stay in a pooled
    /// ``SharedBuffer`` that the producer fills in place and the consumer returns to the pool.
    case handles
    /// A fresh `[UInt8]` copy of each payload through a ``BoundedAsyncChannel`` (what a
    /// channel that deep-copies its elements costs); the consumer frees it.
    case copies
}

/// One measured transfer: `payloadCount` payloads of `payloadSize` bytes from
/// `producerCount` plain threads to one task on the event loop, which checks every byte.
struct Trial: Sendable {
    var transport: Transport
    var payloadSize: Int
    var payloadCount: Int
    var producerCount = 1
    /// Buffers in the pool (handles), or the channel's capacity (copies): the same bound on
    /// payloads in flight for both transports.
    var inFlight = 8

    /// What the consumer saw.
    struct Outcome: Sendable {
        var elapsed: Duration = .zero
        /// Payloads received.
        var received = 0
        /// Sequence numbers received more than once.
        var duplicates = 0
        /// 64-bit words that differed from the payload format.
        var wrongWords = 0
        /// Payloads whose length was not `payloadSize`.
        var wrongSizes = 0
        /// Buffers still out of the pool after the run (always 0 for copies).
        var buffersOut = 0
        /// Buffers in the pool's free list after the run, and how many the pool owns.
        var buffersIn = 0
        var buffersOwned = 0

        /// Megabytes (10^6 bytes) per second.
        func megabytesPerSecond(payloadSize: Int) -> Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Double(received * payloadSize) / 1e6 / seconds
        }

        /// Whether every payload arrived once and intact and every buffer is back.
        func passed(expecting count: Int) -> Bool {
            received == count && duplicates == 0 && wrongWords == 0 && wrongSizes == 0 && buffersOut == 0
                && buffersIn == buffersOwned
        }
    }

    /// Runs the transfer with its consumer on `dispatcher`.
    func run(on dispatcher: Dispatcher) async throws -> Outcome {
        switch transport {
        case .handles: try await runHandles(on: dispatcher)
        case .copies: try await runCopies(on: dispatcher)
        }
    }

    private func runHandles(on dispatcher: Dispatcher) async throws -> Outcome {
        let pool = BufferPool(capacity: inFlight, bufferSize: payloadSize)
        let channel = AsyncChannel<HandleMessage>()
        let trial = self
        let started = ContinuousClock.now
        let producers = (0..<producerCount).map { first in
            PlainThread {
                for sequence in stride(from: first, to: trial.payloadCount, by: trial.producerCount) {
                    let lease = pool.checkOut()
                    lease.withUnsafeMutableBytes { bytes in
                        Payload.fill(
                            UnsafeMutableRawBufferPointer(rebasing: bytes[0..<trial.payloadSize]), sequence: sequence)
                    }
                    lease.count = trial.payloadSize
                    try! channel.send(HandleMessage(sequence: sequence, ticket: lease.send()))
                }
            }
        }
        var outcome = try await Task(executorPreference: dispatcher) { () throws -> Outcome in
            var tally = Tally(count: trial.payloadCount)
            for _ in 0..<trial.payloadCount {
                let message = try await channel.receive()
                let lease = message.ticket.claim()
                let wrong = lease.withUnsafeBytes { Payload.mismatches(in: $0, sequence: message.sequence) }
                tally.record(
                    sequence: message.sequence, wrongWords: wrong, size: lease.count, expected: trial.payloadSize)
                // Dropping the lease here returns the buffer to the pool.
            }
            return tally.outcome
        }.value
        outcome.elapsed = ContinuousClock.now - started
        for producer in producers { producer.joinBlocking() }
        outcome.buffersOut = pool.checkedOut
        outcome.buffersIn = pool.available
        outcome.buffersOwned = pool.capacity
        return outcome
    }

    private func runCopies(on dispatcher: Dispatcher) async throws -> Outcome {
        let channel = try BoundedAsyncChannel<CopyMessage>(capacity: inFlight)
        let trial = self
        let started = ContinuousClock.now
        let producers = (0..<producerCount).map { first in
            PlainThread {
                // The producer fills its own memory, as with handles; the channel gets a copy.
                let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: trial.payloadSize, alignment: 64)
                defer { scratch.deallocate() }
                for sequence in stride(from: first, to: trial.payloadCount, by: trial.producerCount) {
                    Payload.fill(scratch, sequence: sequence)
                    try! channel.sendSync(CopyMessage(sequence: sequence, bytes: [UInt8](scratch)))
                }
            }
        }
        var outcome = try await Task(executorPreference: dispatcher) { () throws -> Outcome in
            var tally = Tally(count: trial.payloadCount)
            for _ in 0..<trial.payloadCount {
                let message = try await channel.receive()
                let wrong = message.bytes.withUnsafeBytes { Payload.mismatches(in: $0, sequence: message.sequence) }
                tally.record(
                    sequence: message.sequence, wrongWords: wrong, size: message.bytes.count,
                    expected: trial.payloadSize)
            }
            return tally.outcome
        }.value
        outcome.elapsed = ContinuousClock.now - started
        for producer in producers { producer.joinBlocking() }
        return outcome
    }
}

/// A payload by handle: its sequence number and the ticket for its buffer.
struct HandleMessage: Sendable {
    let sequence: Int
    let ticket: BufferTicket
}

/// A payload by value.
struct CopyMessage: Sendable {
    let sequence: Int
    let bytes: [UInt8]
}

/// The consumer's running account of what arrived.
private struct Tally {
    var seen: [Bool]
    var outcome = Trial.Outcome()

    init(count: Int) {
        seen = [Bool](repeating: false, count: count)
    }

    mutating func record(sequence: Int, wrongWords: Int, size: Int, expected: Int) {
        outcome.received += 1
        if seen[sequence] { outcome.duplicates += 1 }
        seen[sequence] = true
        outcome.wrongWords += wrongWords
        if size != expected { outcome.wrongSizes += 1 }
    }
}

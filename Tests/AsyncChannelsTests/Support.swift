import EventLoop
import LoopTestSupport
import LoopUtilities

@testable import AsyncChannels

extension AsyncChannel {
    /// Receivers (tasks or threads) waiting now.
    var waitingReceivers: Int { storage.state.withLock { $0.receivers.count } }
}

extension BoundedAsyncChannel {
    var waitingReceivers: Int { storage.state.withLock { $0.receivers.count } }
    /// Senders (tasks or threads) waiting for room now.
    var waitingSenders: Int { storage.state.withLock { $0.senders.count } }
}

/// Counts payload objects created and destroyed, to prove the channel releases what it no
/// longer holds.
final class LiveCounter: Sendable {
    let created = Counter()
    let destroyed = Counter()
    var live: Int { created.value - destroyed.value }
}

/// A payload that reports its deinit.
final class Payload: Sendable {
    let value: Int
    let counter: LiveCounter

    init(_ value: Int, counter: LiveCounter) {
        self.value = value
        self.counter = counter
        counter.created.add()
    }

    deinit {
        counter.destroyed.add()
    }
}

/// An element tagged with its producer and its sequence number in that producer.
struct Tagged: Sendable, Hashable {
    var producer: Int
    var sequence: Int
}

/// Checks that, for each producer, the sequence numbers in `received` increase.
func increasingPerProducer(_ received: [Tagged]) -> Bool {
    var last: [Int: Int] = [:]
    for item in received {
        if let previous = last[item.producer], previous >= item.sequence { return false }
        last[item.producer] = item.sequence
    }
    return true
}

/// Collects values from several threads. Behind EventLoop's `LockedValue` (a pthread mutex)
/// rather than `Mutex`, whose ordering ThreadSanitizer does not see on Linux.
final class Collector<Value: Sendable>: Sendable {
    private let values = LockedValue<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    func append(contentsOf more: [Value]) { values.withLock { $0.append(contentsOf: more) } }
    var all: [Value] { values.withLock { $0 } }
}

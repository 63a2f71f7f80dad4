import EventLoop
import Glibc
import LoopUtilities
import Synchronization

@testable import AsyncChannels

/// Yields until `condition` holds: waits for an event another thread causes, without a
/// sleep. Tests that use it carry a time limit.
func waitUntil(_ condition: () -> Bool) async {
    while !condition() { await Task.yield() }
}

/// The plain-thread version of ``waitUntil(_:)``.
func spinUntil(_ condition: () -> Bool) {
    while !condition() { sched_yield() }
}

extension AsyncChannel {
    /// Receivers (tasks or threads) waiting now.
    var waitingReceivers: Int { storage.state.withLock { $0.receivers.count } }
}

extension BoundedAsyncChannel {
    var waitingReceivers: Int { storage.state.withLock { $0.receivers.count } }
    /// Senders (tasks or threads) waiting for room now.
    var waitingSenders: Int { storage.state.withLock { $0.senders.count } }
}

/// Counts live payload objects, to prove the channel releases what it no longer holds.
final class LiveCounter: Sendable {
    let created = Atomic<Int>(0)
    let destroyed = Atomic<Int>(0)
    var live: Int { created.load(ordering: .acquiring) - destroyed.load(ordering: .acquiring) }
}

/// A payload that reports its deinit.
final class Payload: Sendable {
    let value: Int
    let counter: LiveCounter

    init(_ value: Int, counter: LiveCounter) {
        self.value = value
        self.counter = counter
        counter.created.add(1, ordering: .relaxed)
    }

    deinit {
        counter.destroyed.add(1, ordering: .releasing)
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

/// An integer shared by tasks and threads.
final class SharedCount: Sendable {
    private let atomic: Atomic<Int>
    init(_ value: Int = 0) { atomic = Atomic(value) }
    func add(_ amount: Int) { atomic.add(amount, ordering: .relaxed) }
    func set(_ value: Int) { atomic.store(value, ordering: .relaxed) }
    var value: Int { atomic.load(ordering: .relaxed) }
}

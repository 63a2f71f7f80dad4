import Glibc
import Synchronization

@testable import Hatch

/// Waits (yielding, never sleeping) until `condition` holds: for observing that another
/// task has registered its continuation. Traps after a very long time so that a bug fails
/// the test instead of hanging it (tests also carry a time limit).
func eventually(_ what: String = "condition", _ condition: () -> Bool) async {
    var rounds = 0
    while !condition() {
        rounds += 1
        precondition(rounds < 50_000_000, "timed out waiting for \(what)")
        await Task.yield()
        if rounds % 64 == 0 { sched_yield() }
    }
}

/// Plain-thread variant of `eventually`.
func spinUntil(_ condition: () -> Bool) {
    var rounds = 0
    while !condition() {
        rounds += 1
        precondition(rounds < 500_000_000, "timed out spinning")
        sched_yield()
    }
}

extension HatchReceiver {
    /// Whether a `receive()` is suspended on this hatch (test inspection, under the lock).
    var hasSuspendedReceive: Bool {
        let s = storage.lock()
        defer { storage.unlock(s) }
        return storage.receiverWaiter != nil
    }
}

extension HatchSender {
    /// Whether a `send`/`waitForReceiver()` is suspended on this hatch.
    var hasSuspendedSend: Bool {
        let s = storage.lock()
        defer { storage.unlock(s) }
        return storage.senderWaiter != nil
    }
    var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension HatchReceiver {
    var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension MultishotReceiver {
    var isWaiting: Bool { MultishotState(bits: storage.state.load(ordering: .acquiring)).isWaiting }
    var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension WakeSink {
    var hasWaiter: Bool { slot.load(ordering: .acquiring) != 0 }
}

/// A tiny deterministic PRNG so that failures can be replayed from the printed seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A class value whose deinit is counted, to catch lost or duplicated values.
final class Tracked: Sendable {
    let id: Int
    let live: SharedInt?
    /// - Parameter live: counts the instances alive (per test: tests run in parallel).
    init(_ id: Int, live: SharedInt? = nil) {
        self.id = id
        self.live = live
        live?.add(1)
    }
    deinit { live?.add(-1) }
}

/// An atomic integer on the heap, for sharing with escaping closures and threads.
final class SharedInt: Sendable {
    let atomic: Atomic<Int>
    init(_ value: Int = 0) { atomic = Atomic(value) }
    func load() -> Int { atomic.load(ordering: .acquiring) }
    func store(_ value: Int) { atomic.store(value, ordering: .releasing) }
    @discardableResult func add(_ value: Int) -> Int {
        atomic.wrappingAdd(value, ordering: .acquiringAndReleasing).newValue
    }
    func exchange(_ value: Int) -> Int { atomic.exchange(value, ordering: .acquiringAndReleasing) }
}

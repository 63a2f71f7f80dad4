import Synchronization

/// A shareable atomic integer for tests: counts, flags and handshake steps shared by tasks
/// and plain threads (an `Atomic` cannot be captured by escaping or `sending` closures).
///
/// Orderings: read-modify-writes (``add(_:)``, ``exchange(_:)``) are acquiring-and-releasing,
/// ``value`` is an acquiring load and ``store(_:)`` a releasing store. That is what tests
/// rely on: a party that writes something and then bumps or sets a counter, and a party that
/// sees the new value, also sees what was written before it (a handshake between a thread
/// and a task, a predicate that reads a counter another thread set before notifying). No
/// test needs one total order over several counters, so none is sequentially consistent;
/// staying below that also keeps the counters from adding fences that could hide a missing
/// one in the code under test.
public final class Counter: Sendable {
    private let storage: Atomic<Int>

    public init(_ value: Int = 0) { storage = Atomic(value) }

    /// Adds `delta` (which may be negative) and returns the new value.
    @discardableResult
    public func add(_ delta: Int = 1) -> Int {
        storage.add(delta, ordering: .acquiringAndReleasing).newValue
    }

    /// The current value.
    public var value: Int { storage.load(ordering: .acquiring) }

    /// Replaces the value.
    public func store(_ value: Int) { storage.store(value, ordering: .releasing) }

    /// Replaces the value and returns the previous one.
    public func exchange(_ value: Int) -> Int { storage.exchange(value, ordering: .acquiringAndReleasing) }
}

import LoopTestSupport
import LoopThreadPool
import LoopUtilities

/// Holds one plain thread (a pool worker, inside a job) until the test opens it: how the
/// tests keep a pool's only worker busy while they queue, cancel or shut down behind it.
final class Gate: Sendable {
    private let parker = ThreadParker()
    private let isOpen = Counter()

    /// Blocks the calling thread until ``open()``. One thread at a time.
    func wait() {
        // The flag, not the wake, decides: a park may return for an earlier unpark.
        while isOpen.value == 0 { parker.park() }
    }

    /// Lets the waiting thread (and any later one) through. Any thread.
    func open() {
        isOpen.store(1)
        parker.unpark()
    }
}

/// An object that counts its own release: how a test sees that a pool dropped a result or
/// a closure.
final class Tracked: Sendable {
    let value: Int
    private let released: Counter

    init(_ value: Int, released: Counter) {
        self.value = value
        self.released = released
    }

    deinit { released.add() }
}

struct Boom: Error, Equatable {
    let code: Int
}

/// An actor that calls into the pool: its isolation must hold across the await.
actor Tally {
    private(set) var total = 0

    func add(from pool: ThreadPool) async throws {
        let value = try await pool.run { 5 }
        // Back on the actor: the pool resumes on the caller's executor.
        self.assertIsolated()
        total += value
    }
}

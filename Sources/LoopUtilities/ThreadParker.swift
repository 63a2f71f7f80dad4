import CEventLoop

/// Blocks one plain thread until another thread unparks it (a futex word). For the
/// blocking receives of the channel modules.
///
/// An `unpark()` that comes before `park()` makes the next `park()` return at once;
/// several unparks before a park count as one. Only one thread may park on a parker at a
/// time; any thread may unpark.
package final class ThreadParker: @unchecked Sendable {
    /// The futex word, touched only through the C shim's atomics (`cel_park`/`cel_unpark`).
    private let word: UnsafeMutablePointer<UInt32>

    package init() {
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }

    deinit {
        word.deallocate()
    }

    /// Blocks until unparked or until `timeout` passes (nil: forever). Returns false on timeout.
    @discardableResult
    package func park(timeout: Duration? = nil) -> Bool {
        cel_park(word, timeout.map(\.clampedNanoseconds) ?? -1) == 1
    }

    /// Whether an `unpark()` is pending, so that the next `park()` returns at once. For the
    /// spin before a park; relaxed (the park that follows acquires). Only the parking thread
    /// calls it.
    package var isNotified: Bool { cel_park_is_notified(word) }

    /// Wakes the parked thread, or makes its next `park()` return at once. Never blocks.
    package func unpark() {
        cel_unpark(word)
    }
}

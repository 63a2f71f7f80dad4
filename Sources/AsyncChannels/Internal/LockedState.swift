import Glibc

/// A value behind a pthread mutex: the channels' lock. `@unchecked Sendable` because the
/// mutex serialises every access; this module only stores values built from `Sendable`
/// parts in it (elements, continuations, thread waiters).
///
/// Not `Synchronization.Mutex`: on Linux its lock and unlock live in the uninstrumented
/// `libswiftSynchronization`, so ThreadSanitizer sees no happens-before between two critical
/// sections and reports every channel operation as a race. `pthread_mutex_lock` is
/// intercepted by ThreadSanitizer, and costs the same uncontended (one atomic RMW each way).
@usableFromInline
final class LockedState<Value: ~Copyable>: @unchecked Sendable {
    /// Owned by this object; initialised in init, destroyed in deinit.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The value; read or written only between `lock()` and `unlock()` (protected by `mutex`).
    /// Behind a pointer rather than a stored `var` so that access needs no dynamic
    /// exclusivity check: the mutex already makes it exclusive.
    @usableFromInline let value: UnsafeMutablePointer<Value>

    @inlinable
    convenience init(_ initial: consuming Value) {
        let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        value.initialize(to: initial)
        self.init(taking: value)
    }

    /// Takes ownership of an allocated, initialised `value`.
    @usableFromInline
    init(taking value: UnsafeMutablePointer<Value>) {
        self.value = value
        mutex = .allocate(capacity: 1)
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    @usableFromInline
    func lock() {
        let status = pthread_mutex_lock(mutex)
        precondition(status == 0, "pthread_mutex_lock failed: \(status)")
    }

    @usableFromInline
    func unlock() {
        let status = pthread_mutex_unlock(mutex)
        precondition(status == 0, "pthread_mutex_unlock failed: \(status)")
    }

    /// Runs `body` with exclusive access to the value. Keep `body` short: never resume a
    /// continuation, wake a thread or call user code inside it.
    @inlinable
    func withLock<Result: ~Copyable, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        // Sound: `value` is initialised for the object's whole life, and the mutex makes
        // this the only access while `body` runs.
        return try body(&value.pointee)
    }
}

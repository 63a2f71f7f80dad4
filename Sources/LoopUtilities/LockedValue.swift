public import Glibc

/// A value behind a pthread mutex: the package's lock.
///
/// Not `Synchronization.Mutex`: on Linux its lock and unlock live in the uninstrumented
/// standard library, so ThreadSanitizer sees no happens-before between two critical
/// sections and reports the protected data as racing. `pthread_mutex_lock` is intercepted
/// by ThreadSanitizer and costs the same uncontended (one atomic RMW each way).
///
/// `@unchecked Sendable`: the mutex serialises every access to the value; users store only
/// values built from `Sendable` parts (elements, continuations, thread waiters) in it.
@usableFromInline
package final class LockedValue<Value: ~Copyable>: @unchecked Sendable {
    /// Owned by this object; initialised in init, destroyed in deinit.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Read or written only between `lock()` and `unlock()` (protected by `mutex`). Behind a
    /// pointer rather than a stored `var` so access needs no dynamic exclusivity check.
    @usableFromInline let value: UnsafeMutablePointer<Value>

    @inlinable
    package convenience init(_ initial: consuming Value) {
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

    /// Runs `body` with exclusive access to the value. Keep `body` short: never resume a
    /// continuation, wake a thread or call user code inside it.
    @inlinable
    package func withLock<Result: ~Copyable, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // Sound: `value` is initialised for the object's whole life, and the mutex makes
        // this the only access while `body` runs.
        return try body(&value.pointee)
    }
}

import CEventLoop

/// Resumes `continuation` while ThreadSanitizer ignores this thread's reads.
///
/// A continuation may be resumed while its task is still inside the `withUnsafeContinuation`
/// closure that registered it (a registration that re-checks a condition after publishing the
/// continuation does this). The runtime then continues the task on the registering thread,
/// ordered only by its own uninstrumented atomic, and the task soon writes a new continuation
/// context at the same task-allocator address. TSan would pair `resume`'s read of the old
/// context with that write and report a race that the runtime's ordering rules out. Ignoring
/// the reads inside `resume` hides exactly that pair; our own accesses before and after stay
/// checked. Outside TSan this costs two calls to empty functions.
@inlinable
package func resumeHidingRuntimeReads(_ continuation: UnsafeContinuation<Void, Never>) {
    tsanIgnoreReadsBegin()
    continuation.resume()
    tsanIgnoreReadsEnd()
}

/// ``resumeHidingRuntimeReads(_:)`` for a continuation that carries a result: resumes
/// `continuation` with `result` while ThreadSanitizer ignores this thread's reads, for the
/// same reason (the task may still be inside its registering closure).
@inlinable
package func resumeHidingRuntimeReads<Value, Failure: Error>(
    _ continuation: UnsafeContinuation<Value, Failure>, with result: sending Result<Value, Failure>
) {
    tsanIgnoreReadsBegin()
    continuation.resume(with: result)
    tsanIgnoreReadsEnd()
}

@usableFromInline
func tsanIgnoreReadsBegin() { cel_tsan_ignore_reads_begin() }

@usableFromInline
func tsanIgnoreReadsEnd() { cel_tsan_ignore_reads_end() }

/// Tells ThreadSanitizer that `object`'s writes so far happen before the matching
/// ``tsanAcquire(_:)``: for a hand-off through a continuation whose resumption the runtime
/// orders with its own uninstrumented atomic. Outside TSan a call to an empty function.
@usableFromInline
package func tsanRelease(_ object: AnyObject) {
    cel_tsan_release(Unmanaged.passUnretained(object).toOpaque())
}

/// The acquire half of ``tsanRelease(_:)``, on the same object.
@usableFromInline
package func tsanAcquire(_ object: AnyObject) {
    cel_tsan_acquire(Unmanaged.passUnretained(object).toOpaque())
}

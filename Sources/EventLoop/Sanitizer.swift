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

@usableFromInline
func tsanIgnoreReadsBegin() { cel_tsan_ignore_reads_begin() }

@usableFromInline
func tsanIgnoreReadsEnd() { cel_tsan_ignore_reads_end() }

import CEventLoop
import Glibc

/// A plain OS thread (a pthread) that runs one closure: the kind of thread, a pool worker,
/// a blocking reader, a C library's callback, that the package connects to async tasks.
/// `LoopThread` runs its loop on one; the tests and examples use it for their producers.
///
/// Join it once (``join()`` from a task, ``joinBlocking()`` from a thread) or let it go: a
/// thread nobody joined is detached when the last reference is released, so its resources
/// are freed when it ends.
package final class PlainThread: Sendable {
    private struct State {
        /// Nil once joined or detached.
        var handle: pthread_t?
        var finished = false
        /// Tasks waiting in `join()` for the body to end.
        var joiners: [UnsafeContinuation<Void, Never>] = []
    }

    /// Protected by its lock; the new thread writes `finished` through `markFinished`.
    private let state = LockedValue(State())

    /// Starts a thread named `name` that runs `body` and then ends.
    /// - Parameters:
    ///   - name: the thread's name as tools show it (the kernel keeps 15 bytes).
    ///   - body: the work; it runs once, on the new thread.
    /// - Throws: ``ThreadStartError`` with `pthread_create`'s error when the process is out
    ///   of threads or memory.
    package init(named name: String, _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) {
        let start = Unmanaged.passRetained(Start(name: name, body: body, owner: self)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(
            &handle, nil,
            { raw in
                // The start record was retained for this thread; take that reference back.
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                cel_set_thread_name(start.name)
                start.body()
                start.owner.markFinished()
                return nil
            }, start)
        guard status == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw ThreadStartError(errno: status)
        }
        state.withLock { $0.handle = handle }
    }

    /// Starts a thread that runs `body`; stops the process with the reason when no thread
    /// can be created. For tests and examples, which cannot go on without their threads.
    package convenience init(name: String = "plain", _ body: @escaping @Sendable () -> Void) {
        do {
            try self.init(named: name, body)
        } catch {
            fatalError("\(error)")
        }
    }

    deinit {
        if let handle = state.withLock({ $0.handle }) { pthread_detach(handle) }
    }

    /// Whether the caller runs on this thread. Callable from any thread.
    package var isCurrent: Bool {
        guard let handle = state.withLock({ $0.handle }) else { return false }
        return pthread_equal(handle, pthread_self()) != 0
    }

    /// Waits, suspended, for the body to end, then joins the thread: from a task, without
    /// blocking an executor's thread. Call at most one of `join`, `joinBlocking`, `detach`.
    package func join() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let finished = state.withLock { state in
                if !state.finished { state.joiners.append(continuation) }
                return state.finished
            }
            if finished { continuation.resume() }
        }
        joinBlocking()
    }

    /// Blocks the calling thread until the body has ended. For plain threads, not tasks;
    /// never from the thread itself.
    package func joinBlocking() {
        if let handle = takeHandle() { pthread_join(handle, nil) }
    }

    /// Lets the thread end on its own: nobody will join it.
    package func detach() {
        if let handle = takeHandle() { pthread_detach(handle) }
    }

    private func takeHandle() -> pthread_t? {
        state.withLock { state in
            defer { state.handle = nil }
            return state.handle
        }
    }

    private func markFinished() {
        let joiners = state.withLock { state in
            state.finished = true
            defer { state.joiners = [] }
            return state.joiners
        }
        // A joiner may still be inside its registering closure: see resumeHidingRuntimeReads.
        for joiner in joiners { resumeHidingRuntimeReads(joiner) }
    }

    /// What the new thread needs; the owner reference keeps the `PlainThread` alive until
    /// the body has ended, so `markFinished` always has an object to write to.
    private final class Start: Sendable {
        let name: String
        let body: @Sendable () -> Void
        let owner: PlainThread

        init(name: String, body: @escaping @Sendable () -> Void, owner: PlainThread) {
            self.name = name
            self.body = body
            self.owner = owner
        }
    }
}

/// A thread could not be created: `pthread_create` failed with ``errno``.
package struct ThreadStartError: Error, CustomStringConvertible {
    /// The error `pthread_create` returned (`EAGAIN`: out of threads or memory).
    package let errno: Int32

    package var description: String {
        "pthread_create failed: \(String(cString: strerror(errno))) (errno \(errno)); "
            + "the process is out of threads or memory: end some threads or raise the limit"
    }
}

/// `prefix-index`, the name of the `index`th thread of a group or pool, with `prefix` cut so
/// that the whole fits the 15 bytes the kernel keeps of a thread's name.
package func numberedThreadName(_ prefix: String, _ index: Int) -> String {
    let suffix = "-\(index)"
    let room = max(0, 15 - suffix.utf8.count)
    var kept = Substring(prefix)
    while kept.utf8.count > room { kept.removeLast() }
    return kept + suffix
}

import CEventLoop
import Glibc
import LoopUtilities
import Synchronization

/// A cross-thread signal backed by an eventfd, like chronos's `ThreadSignalPtr`: fire it
/// from any thread; wait for it from a task (on any dispatcher or the global executor) or
/// block a plain thread on it.
///
/// The signal is a flag: `fire()` sets it, a wait clears it. Fires that come while it is
/// set coalesce into one. One fire ends one wait: the longest-waiting task's if a task
/// waits, else one blocked thread's.
public final class ThreadSignal: Sendable {
    /// One waiting task: a `wait()`, or a select whose case waits for a fire.
    enum Waiter {
        case task(UnsafeContinuation<Void, any Error>)
        case select(_SelectWaiter, case: Int)
    }

    struct State {
        var signaled = false
        var closed = false
        /// The waiting tasks and selects, oldest first from `waiterHead`; each entry is removed
        /// in the critical section that decides to resume it, so it is resumed once.
        var waiters: [(id: UInt64, waiter: Waiter)] = []
        var waiterHead = 0
        /// Plain threads blocked in waitSync (a count, not waiters: they take the flag
        /// themselves when the eventfd wakes them).
        var blockedThreads = 0

        /// Drops consumed entries from the front once they are the larger part.
        mutating func compactWaiters() {
            if waiterHead == waiters.count {
                waiters.removeAll(keepingCapacity: true)
                waiterHead = 0
            } else if waiterHead > 32 && waiterHead * 2 > waiters.count {
                waiters.removeFirst(waiterHead)
                waiterHead = 0
            }
        }
    }

    /// Any thread, protected by its lock.
    let state = LockedValue<State>(State())
    /// Any thread, atomic (relaxed: only uniqueness matters): source of waiter ids, so that
    /// a cancelled wait can find its own entry.
    let nextWaiterID = Atomic<UInt64>(0)
    /// Immutable: the doorbell for threads blocked in waitSync; closed in deinit.
    private let eventFD: Int32
    /// Any thread, atomic. True while the signal is set or closed: written under the lock of
    /// `state` whenever `signaled` or `closed` changes, read without it by the brief spin of
    /// `waitSync`. Only a hint of when the lock is worth taking; the locked state decides.
    /// Relaxed: the lock orders everything the spin goes on to read.
    let readyHint = Atomic<Bool>(false)

    /// Creates an unsignaled signal. Callable from any thread.
    /// - Throws: ``LoopError`` with code `systemCall` when the eventfd cannot be created
    ///   (for example when the process is out of descriptors).
    public init() throws(LoopError) {
        let fd = cel_eventfd_create()
        guard fd >= 0 else { throw .system("eventfd", errno: currentErrno()) }
        eventFD = fd
    }

    deinit {
        Glibc.close(eventFD)
    }

    /// Sets the signal, ending one wait. Callable from any thread; never waits for the
    /// woken task or thread (it takes a short internal lock; it writes the eventfd only when
    /// a plain thread is blocked in ``waitSync(timeout:)``). Does nothing after ``close()``.
    public func fire() {
        enum Action { case none, resume(UnsafeContinuation<Void, any Error>), wake(_SelectWaiter), ring }
        let action = state.withLock { state -> Action in
            if state.closed || state.signaled { return .none }
            while state.waiterHead < state.waiters.count {
                let entry = state.waiters[state.waiterHead]
                state.waiterHead += 1
                state.compactWaiters()
                switch entry.waiter {
                case .task(let continuation):
                    return .resume(continuation)
                case .select(let select, let index):
                    // A select that already ended another way takes no fire: try the next.
                    if select.claim(case: index, payload: true) { return .wake(select) }
                }
            }
            state.signaled = true
            readyHint.store(true, ordering: .relaxed)
            return state.blockedThreads > 0 ? .ring : .none
        }
        switch action {
        case .none: break
        case .resume(let continuation):
            // The waiter may still be inside its registering closure on another thread:
            // see resumeHidingRuntimeReads.
            resumeHidingRuntimeReads(continuation, with: .success(()))
        case .wake(let select): select.wake()
        case .ring: _ = cel_eventfd_signal(eventFD)
        }
    }

    /// Suspends the calling task until the signal fires, then clears it.
    ///
    /// Returns at once (clearing it) when the signal is already set. Before it suspends it
    /// spins about a microsecond for a fire (not on a loop that has other ready work), so a
    /// fire that comes quickly costs no suspension and no wake-up. Callable from any task,
    /// on any executor; it resumes on the task's own executor.
    /// - Throws: `CancellationError` when the task is cancelled while waiting (a fire is
    ///   never consumed by a cancelled wait); ``LoopError/closed`` once the signal is closed.
    public nonisolated(nonsending) func wait() async throws {
        if !Dispatcher.currentLoopHasReadyWork {
            // Relaxed: only a hint; the lock below decides on what it sees.
            var backoff = Backoff()
            while !readyHint.load(ordering: .relaxed) && backoff.pauseIfNotSpent() {}
        }
        if readyHint.load(ordering: .relaxed) && takeFire() { return }
        let id = nextWaiterID.wrappingAdd(1, ordering: .relaxed).oldValue
        try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let immediate = state.withLock { state -> Result<Void, any Error>? in
                    if state.signaled {
                        state.signaled = false
                        readyHint.store(false, ordering: .relaxed)
                        return .success(())
                    }
                    if state.closed { return .failure(LoopError.closed) }
                    // Checked under the lock that onCancel takes: if cancellation came
                    // first we see it here; if it comes later, onCancel finds our entry.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append((id, .task(continuation)))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> UnsafeContinuation<Void, any Error>? in
                guard let index = state.waiters[state.waiterHead...].firstIndex(where: { $0.id == id }) else {
                    return nil
                }
                guard case .task(let continuation) = state.waiters.remove(at: index).waiter else { return nil }
                return continuation
            }
            if let continuation {
                // The waiter may still be inside its registering closure: see
                // resumeHidingRuntimeReads.
                resumeHidingRuntimeReads(continuation, with: .failure(CancellationError()))
            }
        }
    }

    /// Blocks the calling plain thread until the signal fires or `timeout` passes, then
    /// clears it.
    ///
    /// For plain threads. Must not be called on a thread that runs a loop now (a task or
    /// closure on a ``LoopThread``, on a thread dispatcher inside ``Dispatcher/run()`` or
    /// ``Dispatcher/waitFor(_:)``, or on a shut-down dispatcher's fallback queue): there it
    /// would stall every task of the loop, so a wait that would sleep stops the process with
    /// a message that says so; use ``wait()`` from a task instead. A poll (a
    /// zero or negative timeout) never sleeps and is allowed anywhere, and so is a wait that
    /// finds the signal already set or closed. From a task on the global executor it blocks
    /// a thread of the shared pool: use ``wait()`` there too.
    ///
    /// Before it sleeps on the signal's eventfd it spins as the thread's
    /// ``IdlePolicy/currentThread`` allows (by default up to 50 µs while recent waits ended
    /// that soon), so a fire that comes quickly (a loop replying at once) costs neither side
    /// a system call. On a thread that runs a loop it spins about a microsecond at most.
    /// - Parameter timeout: the longest wait; nil waits until fired or closed. Zero or
    ///   negative polls.
    /// - Returns: true when the signal was fired (and is now cleared); false on timeout or
    ///   when the signal is closed.
    public func waitSync(timeout: Duration?) -> Bool {
        let timeoutNanos = timeout.map(\.clampedNanoseconds) ?? -1
        let deadline = timeoutNanos >= 0 ? cel_monotonic_ns() &+ UInt64(timeoutNanos) : UInt64.max
        var registered = false
        // The idle spin first: a fire that comes within it costs neither side a system call.
        if timeoutNanos != 0 {
            var spin = IdleWait.forBlockingWait(limit: deadline)
            _ = spin.spin { !readyHint.load(ordering: .relaxed) }
        }
        while true {
            let outcome = state.withLock { state -> Bool? in
                if state.signaled {
                    state.signaled = false
                    readyHint.store(false, ordering: .relaxed)
                    if registered { state.blockedThreads -= 1 }
                    return true
                }
                let now = cel_monotonic_ns()
                if state.closed || now >= deadline {
                    if registered { state.blockedThreads -= 1 }
                    return false
                }
                if !registered {
                    // About to sleep for the first time: the one place that checks the
                    // thread, so that a poll, or a signal that is already set, costs nothing.
                    if Dispatcher.currentThreadRunsALoop { ThreadSignal.wouldBlockLoop() }
                    state.blockedThreads += 1
                }
                // Drained under the lock: a fire that sets the flag after this rings again,
                // so the doorbell never holds a stale ring that hides a new one.
                _ = cel_eventfd_drain(eventFD)
                return nil
            }
            if let outcome { return outcome }
            registered = true
            let now = cel_monotonic_ns()
            let left = deadline == UInt64.max ? -1 : Int64(clamping: deadline > now ? deadline - now : 0)
            _ = cel_poll_readable(eventFD, left)
        }
    }

    /// Clears a set signal and returns true; false when it is not set. Any thread.
    private func takeFire() -> Bool {
        state.withLock { state in
            guard state.signaled else { return false }
            state.signaled = false
            readyHint.store(false, ordering: .relaxed)
            return true
        }
    }

    /// Stops the process: `waitSync` would sleep on a thread that runs a loop.
    private static func wouldBlockLoop() -> Never {
        fatalError(
            "ThreadSignal.waitSync(timeout:) would block a thread that runs a dispatcher's loop, "
                + "stalling every task on it; call wait() from a task, or waitSync from a plain thread"
        )
    }

    /// Closes the signal: every waiting task throws ``LoopError/closed``, blocked threads
    /// return false, and later fires do nothing. Idempotent; callable from any thread.
    public func close() {
        let (waiters, ring) = state.withLock { state -> ([Waiter], Bool) in
            guard !state.closed else { return ([], false) }
            state.closed = true
            readyHint.store(true, ordering: .relaxed)
            let waiters = state.waiters[state.waiterHead...].map(\.waiter)
            state.waiters = []
            state.waiterHead = 0
            return (waiters, state.blockedThreads > 0)
        }
        for waiter in waiters {
            switch waiter {
            case .task(let continuation):
                // The waiter may still be inside its registering closure on another
                // thread: see resumeHidingRuntimeReads.
                resumeHidingRuntimeReads(continuation, with: .failure(LoopError.closed))
            case .select(let select, let index):
                // A closed signal is ready for a select: its handler is told (false).
                if select.claim(case: index, payload: false) { select.wake() }
            }
        }
        if ring { _ = cel_eventfd_signal(eventFD) }
    }
}

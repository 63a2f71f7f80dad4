import CEventLoop
import LoopUtilities
import Synchronization

extension Dispatcher {
    /// Runs the loop on the calling thread until ``stop()`` is called.
    ///
    /// A `stop()` made before `run()` starts makes it return after one pass over the ready
    /// work; each `stop()` ends one `run()`.
    /// - Throws: ``LoopError/wrongThread`` off the dispatcher's own thread,
    ///   ``LoopError/alreadyRunning`` when the loop already runs on this thread (a nested
    ///   call from a job), ``LoopError/shutDown`` after shutdown.
    public func run() throws {
        try enterLoop()
        defer { isRunning = false }
        runLoop {
            stopRequested.load(ordering: .relaxed) && stopRequested.exchange(false, ordering: .acquiringAndReleasing)
        }
    }

    /// Asks the loop to return from ``run()`` after the job it is running. Callable from
    /// any thread; never blocks.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        // The eventfd stays open until deinit (we hold a reference), so this write can never
        // hit a closed or reused descriptor; after shutdown nobody reads it, so skip it.
        if !inLoop && !isShutDown {
            wakePending.store(true, ordering: .relaxed)
            eventfdWriteCount.wrappingAdd(1, ordering: .relaxed)
            selector.wake()
        }
    }

    /// Runs this thread's loop until `body` finishes, and returns its result (chronos's
    /// `waitFor`). `body` runs as a task whose executor preference is this dispatcher.
    ///
    /// Other work on the loop (tasks, timers, descriptor waits) runs meanwhile. If the
    /// body is cancelled it sees that as usual; this call does not cancel it.
    /// - Parameter body: the async work to run on the loop.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw; ``LoopError/wrongThread`` when called off the
    ///   dispatcher's thread, ``LoopError/alreadyRunning`` when nested inside the loop
    ///   (from a task or closure running on it) instead of deadlocking,
    ///   ``LoopError/shutDown`` after shutdown.
    public func waitFor<T: Sendable>(_ body: sending @escaping () async throws -> T) throws -> T {
        try enterLoop()
        defer { isRunning = false }
        let outcome = Outcome<T>()
        Task(executorPreference: self) {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.finish(result)
        }
        runLoop { outcome.isFinished }
        return try outcome.take()
    }

    private func enterLoop() throws(LoopError) {
        guard !isShutDown else { throw .shutDown }
        guard inLoop else { throw .wrongThread }
        guard !isRunning else { throw .alreadyRunning }
        isRunning = true
    }

    /// The loop: run ready work, pull the inbox, fire due timers, then poll or block.
    func runLoop(until done: () -> Bool) {
        while true {
            var budget = 1024
            while budget > 0, let work = local.popFirst() {
                runWork(work)
                budget &-= 1
            }
            jobsRunCount.store(jobsRunCount.load(ordering: .relaxed) &+ (1024 - budget), ordering: .relaxed)
            if done() { return }
            if inboxHasWork.load(ordering: .acquiring) { drainInbox() }
            if !timers.isEmpty { fireDueTimers(now: cel_monotonic_ns()) }
            iterations &+= 1
            if local.isEmpty {
                block()
            } else if descriptorWaits > 0 && (budget == 0 || iterations & 63 == 0) {
                // Busy: still look at descriptors now and then so I/O is not starved.
                poll(timeoutNanoseconds: 0)
            }
        }
    }

    /// Blocks in epoll until a descriptor, the wake eventfd or the next timer fires.
    private func block() {
        // Clear the flag, then look at the inbox under its lock: a producer that appended
        // before our look is seen now; one that appends after it sees the flag cleared
        // (the lock orders them) and writes the eventfd.
        wakePending.store(false, ordering: .sequentiallyConsistent)
        drainInbox()
        if !local.isEmpty || stopRequested.load(ordering: .relaxed) {
            wakePending.store(true, ordering: .relaxed)
            return
        }
        var deadline = timers.nextDeadline ?? UInt64.max
        if descriptorWaits > 0 { deadline = min(deadline, nextDescriptorAudit) }
        var timeout: Int64 = -1
        if deadline != UInt64.max {
            let now = cel_monotonic_ns()
            timeout = deadline > now ? Int64(clamping: deadline - now) : 0
        }
        poll(timeoutNanoseconds: timeout)
        // Awake: producers need not write the eventfd until we are about to block again.
        wakePending.store(true, ordering: .relaxed)
    }

    private func poll(timeoutNanoseconds: Int64) {
        epollWaitCount.store(epollWaitCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        selector.wait(timeoutNanoseconds: timeoutNanoseconds) { data, events in
            descriptorReady(Int32(truncatingIfNeeded: data), events: events)
        }
        if !timers.isEmpty || descriptorWaits > 0 {
            let now = cel_monotonic_ns()
            if !timers.isEmpty { fireDueTimers(now: now) }
            if descriptorWaits > 0 && now >= nextDescriptorAudit {
                if nextDescriptorAudit != 0 { auditDescriptors() }
                nextDescriptorAudit = now + Self.descriptorAuditInterval
            }
        }
    }

    // MARK: Shutdown

    /// The dispatcher's thread is done with it: fail what waits on the loop, hand queued
    /// and later work to the fallback queue, close the descriptors. Runs on the owning thread.
    func shutDownOnOwnThread() {
        guard !shutDownFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // From here on, submissions from this thread go through the inbox too.
        let pending = inbox.withLock { inbox -> [Work] in
            inbox.accepting = false
            inboxHasWork.store(false, ordering: .relaxed)
            defer { inbox.work = [] }
            return inbox.work
        }
        let leftovers = local.removeAll() + pending
        failTimersForShutdown()
        failDescriptorWaitersForShutdown()
        // The descriptors stay open until deinit: a racing stop() may still write the eventfd.
        if inLoop { cel_set_current_dispatcher(nil) }
        // Everything loop-only is now the fallback queue's, which runs one drain at a time.
        fallback.submit(contentsOf: leftovers, to: self)
    }
}

/// The result of a `waitFor` body: written by the body's task, read by the loop thread.
final class Outcome<T: Sendable>: Sendable {
    private let state = LockedValue<Result<T, any Error>?>(nil)
    private let finished = Atomic<Bool>(false)

    func finish(_ result: sending Result<T, any Error>) {
        state.withLock { $0 = result }
        finished.store(true, ordering: .releasing)
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }

    func take() throws -> T {
        let result = state.withLock { state -> Result<T, any Error>? in
            defer { state = nil }
            return state
        }
        guard let result else { preconditionFailure("waitFor's loop returned before its body finished") }
        return try result.get()
    }
}

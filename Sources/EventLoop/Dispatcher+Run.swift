import CEventLoop
import LoopUtilities
import Synchronization

extension Dispatcher {
    /// Runs the loop on the calling thread until ``stop()`` is called.
    ///
    /// Call it on the dispatcher's own thread (the one that called ``forCurrentThread()``).
    /// A `stop()` made before `run()` starts makes it return after one pass over the ready
    /// work; each `stop()` ends one `run()`.
    /// - Throws: ``LoopError/wrongThread`` off the dispatcher's own thread,
    ///   ``LoopError/alreadyRunning`` when the loop already runs on this thread (a nested
    ///   call from a job), ``LoopError/shutDown`` after shutdown.
    public func run() throws(LoopError) {
        try enterLoop()
        runHonoursStop = true
        defer {
            runHonoursStop = false
            isRunning = false
        }
        runLoop {
            // The relaxed load keeps the common case to a plain read; the exchange that
            // consumes the request acquires what the stopping thread released.
            stopRequested.load(ordering: .relaxed) && stopRequested.exchange(false, ordering: .acquiringAndReleasing)
        }
    }

    /// Asks the loop to return from ``run()`` after the job it is running. Callable from
    /// any thread; never blocks. It does not end a ``waitFor(_:)``: the request stays
    /// pending, the `waitFor` loop blocks and wakes as usual meanwhile, and the next `run()`
    /// returns after one pass over the ready work.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        // The wake descriptor stays open until deinit (we hold a reference), so this write
        // can never hit a closed or reused descriptor; after shutdown nobody reads it, so
        // skip it.
        if !inLoop && !isShutDown {
            // Relaxed: the wake below makes the loop run regardless; the flag only spares
            // other producers a wake of their own until the loop blocks again.
            wakePending.store(true, ordering: .relaxed)
            eventfdWriteCount.wrappingAdd(1, ordering: .relaxed)
            selector.wake()
        }
    }

    /// Runs this thread's loop until `body` finishes, and returns its result (chronos's
    /// `waitFor`). `body` runs as a task whose executor preference is this dispatcher.
    ///
    /// Call it on the dispatcher's own thread, outside the loop. Other work on the loop
    /// (tasks, timers, descriptor waits) runs meanwhile. The body's task is not cancelled
    /// by this call and nothing can cancel it from outside: it ends when `body` returns.
    /// ``stop()`` does not end it either: a stop made before or during a `waitFor` stays
    /// pending for the next ``run()``, and the loop keeps blocking for work, timers and
    /// descriptors meanwhile.
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
        guard isBoundToCurrentThread else { throw .wrongThread }
        guard !isRunning else { throw .alreadyRunning }
        isRunning = true
    }

    /// Loop thread: run ready work, pull the inbox, fire due timers, then poll or block.
    func runLoop(until done: () -> Bool) {
        while true {
            var budget = 1024
            while budget > 0, let work = local.popFirst() {
                runWork(work)
                budget &-= 1
            }
            // One writer (this thread): a load and a store, no read-modify-write.
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

    /// Loop thread: spins for work as the idle policy allows, then blocks in the selector
    /// until a descriptor is ready, a producer wakes the loop, the next timer is due or the
    /// next descriptor audit is.
    private func block() {
        // While the loop spins, `wakePending` stays true (it is true whenever the loop is
        // awake), so producers append to the inbox and write no eventfd: that is what the
        // spin saves them. The spin only looks; whatever it sees, or misses, the loop's next
        // pass or the sequence below picks up, so it adds no case to the argument below.
        if spinWhileIdle() { return }
        // Clear the flag, then look at the inbox under its lock: a producer that appended
        // before our look is seen now; one that appends after it sees the flag cleared
        // (the lock orders them) and wakes the selector. The lock alone makes this correct;
        // the store is sequentially consistent all the same.
        wakePending.store(false, ordering: .sequentiallyConsistent)
        drainInbox()
        // Relaxed: a stop() from another thread that this load misses wakes the selector.
        // Only run() honours a stop; a waitFor loop blocks over a pending one (else it spins).
        if !local.isEmpty || (runHonoursStop && stopRequested.load(ordering: .relaxed)) {
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
        // Awake: producers need not wake us until we are about to block again. Relaxed: the
        // next block() clears it before it looks at the inbox under the lock.
        wakePending.store(true, ordering: .relaxed)
    }

    /// Loop thread: the idle spin before blocking, as ``idlePolicy`` allows. Returns true when
    /// the loop has something to do without blocking: work came to the inbox (seen by a
    /// relaxed load; the loop's next pass takes it with the acquiring one), a descriptor or
    /// a timer made work ready, a timer fell due, or `run()` was asked to stop. False when
    /// the spin is spent or the policy grants none: block.
    ///
    /// Under the adaptive policy the spin lasts as long as the loop's history says (see
    /// `IdleHistory`), at most the window. Descriptors are polled (a zero-timeout
    /// `epoll_wait`) every `idlePollInterval` of spinning while tasks wait on them. Spins that
    /// end at a timer's deadline say nothing about how long waits last and are left out of
    /// the adaptive history.
    ///
    /// Never inlined: the idle path stays out of the run loop's hot code (inlined, it made
    /// the same-loop ping-pongs a few percent slower).
    @inline(never)
    private func spinWhileIdle() -> Bool {
        // Relaxed: see `idlePolicyWord`.
        let word = idlePolicyWord.load(ordering: .relaxed)
        if word != idleHistoryPolicy {
            idleHistory = IdleHistory()
            idleHistoryPolicy = word
        }
        let settings = IdleSettings(rawValue: word)
        let window = settings.windowNanoseconds
        guard settings.kind != .never, window > 0 else { return false }
        let adaptive = settings.kind == .adaptive
        if adaptive && !idleHistory.shouldSpin() { return false }
        let length = adaptive ? idleHistory.spinLength(window: window) : window
        let start = cel_monotonic_ns()
        var end = start &+ UInt64(length)
        var endsAtTimer = false
        if let due = timers.nextDeadline, due <= end {
            end = due
            endsAtTimer = true
        }
        var spin = IdleWait.until(end, from: start)
        var nextPoll = descriptorWaits > 0 ? start &+ Self.idlePollInterval : UInt64.max
        let sawWork = spin.spin {
            // Relaxed: a hint; the loop's next pass loads the flag with acquire before it
            // drains (and only a stop() that `run()` honours ends the spin).
            if inboxHasWork.load(ordering: .relaxed) || !local.isEmpty { return false }
            if runHonoursStop && stopRequested.load(ordering: .relaxed) { return false }
            if nextPoll != UInt64.max {
                let now = cel_monotonic_ns()
                if now >= nextPoll {
                    // Runs the tasks' descriptor handlers and any due timer; what they
                    // resume lands in `local`.
                    poll(timeoutNanoseconds: 0)
                    nextPoll = descriptorWaits > 0 ? now &+ Self.idlePollInterval : UInt64.max
                    return local.isEmpty && !inboxHasWork.load(ordering: .relaxed)
                }
            }
            return true
        }
        let finish = cel_monotonic_ns()
        // One writer (this thread): loads and stores, no read-modify-write.
        idleSpinCount.store(idleSpinCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        // Up to the spin's end at most: past it the thread was not spinning but away (it gave
        // the CPU to another thread, or was preempted), and saw its deadline when it ran again.
        idleSpinNanoseconds.store(
            idleSpinNanoseconds.load(ordering: .relaxed) &+ Int(clamping: min(finish, end) &- start),
            ordering: .relaxed
        )
        if adaptive && !(endsAtTimer && !sawWork) {
            idleHistory.record(hit: sawWork, waited: Int64(clamping: finish &- start), window: window)
        }
        // A spin that ran up to a timer's deadline returns, so the loop fires the timer.
        return sawWork || endsAtTimer
    }

    /// How often an idle spin polls the descriptors tasks wait on: 5 µs.
    static var idlePollInterval: UInt64 { 5_000 }

    /// Loop thread: one selector wait, then the timers and the audit that fell due meanwhile.
    private func poll(timeoutNanoseconds: Int64) {
        // One writer (this thread): a load and a store, no read-modify-write.
        epollWaitCount.store(epollWaitCount.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        selector.wait(timeoutNanoseconds: timeoutNanoseconds) { fd, readiness in
            descriptorReady(fd, readiness)
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

    /// The dispatcher's thread is done with it: fail what waits on the loop and hand queued
    /// and later work to the fallback queue. Runs on the owning thread (or, when a
    /// `LoopThread` could not start its thread, on the thread that created it); the
    /// selector's descriptors are closed later, in deinit.
    func shutDownOnOwnThread() {
        // Acquiring and releasing: readers that acquire the flag (isShutDown) see the state
        // written before it; a second call sees the first one's.
        guard !shutDownFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // From here on, submissions from this thread go through the inbox too. One hand-off,
        // in the critical section that stops the inbox accepting: the local queue, then the
        // inbox, reach the fallback queue before any submission that finds the inbox closed
        // (it takes this lock first), so work keeps the order it was posted in. Only moves
        // happen under the lock; the fallback queue is held, so nothing runs yet.
        inbox.withLock { inbox in
            inbox.accepting = false
            inboxHasWork.store(false, ordering: .relaxed)
            fallback.takeOver(local.removeAll() + inbox.work)
            inbox.work = []
        }
        // Still the only user of loop-only state: the fallback queue starts no drain before
        // `release`. Work these failures resume queues up behind the pending work.
        failTimersForShutdown()
        failDescriptorWaitersForShutdown()
        // The descriptors stay open until deinit: a racing stop() may still write the eventfd.
        if isBoundToCurrentThread { cel_set_current_dispatcher(nil) }
        // Everything loop-only is now the fallback queue's, which runs one drain at a time;
        // its lock orders the first drain after everything above.
        fallback.release(to: self)
    }
}

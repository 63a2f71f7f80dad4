import LoopUtilities

extension Dispatcher {
    /// Runs `work` on the loop thread once `delay` has passed.
    ///
    /// Callable from any thread. A zero or negative delay runs the work on the next loop
    /// iteration; delays longer than about 146 years are clamped. Timers with the same
    /// deadline run in the order they were scheduled. Work the dispatcher cannot run
    /// because it shut down first is dropped, never run, and its handle's
    /// ``Scheduled/state`` says ``Scheduled/State/shutDown``: at once when the dispatcher had
    /// already shut down, otherwise when the shutdown reaches the timer.
    /// - Parameters:
    ///   - delay: how long to wait, measured on the monotonic clock.
    ///   - work: the closure to run on the loop thread.
    /// - Returns: a handle whose ``Scheduled/cancel()`` keeps `work` from running.
    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> Scheduled {
        let timer = Scheduled(deadline: deadline(after: delay), payload: .closure(work), dispatcher: self)
        insertTimer(timer)
        return timer
    }

    /// Suspends the calling task for `duration`, using this loop's timers.
    ///
    /// Callable from any task: it may run anywhere (this loop, another loop, the global
    /// executor), and it resumes on its own executor. A zero or negative duration returns
    /// at once.
    /// - Throws: `CancellationError` when the task is cancelled before or during the sleep
    ///   (the sleep ends at once; the timer leaves the heap when it falls due or the heap
    ///   is compacted); ``LoopError/shutDown`` when the dispatcher shuts down first.
    public nonisolated(nonsending) func sleep(for duration: Duration) async throws {
        guard duration > .zero else {
            try Task.checkCancellation()
            return
        }
        guard !isShutDown else { throw LoopError.shutDown }
        let rendezvous = Rendezvous()
        let timer = Scheduled(deadline: deadline(after: duration), payload: .rendezvous(rendezvous), dispatcher: self)
        try await withCancellationHandler {
            // Resumed exactly once, by whichever of fire, cancel and shutdown claims the timer.
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                rendezvous.install(continuation)
                insertTimer(timer)
            }
        } onCancel: {
            timer.cancel()
        }
    }

    /// Puts `timer` in the heap: at once on the loop thread, else through the inbox. After
    /// shutdown the timer is failed (claimed) instead, so it never runs.
    func insertTimer(_ timer: Scheduled) {
        if isShutDown {
            timer.failForShutdown()
        } else if inLoop {
            timers.insert(timer, deadline: timer.deadline)
        } else {
            execute { [self] in
                if isShutDown { timer.failForShutdown() } else { timers.insert(timer, deadline: timer.deadline) }
            }
        }
    }

    /// Loop thread: fires every timer whose deadline has passed, in deadline order, and
    /// compacts the heap when cancelled timers are most of it.
    func fireDueTimers(now: UInt64) {
        while let timer = timers.popDue(now: now) {
            // A timer cancelled between the check and the claim in fire() counts as cancelled too.
            if !(timer.isArmed && timer.fire()) {
                cancelledTimers.wrappingSubtract(1, ordering: .relaxed)
            }
        }
        let cancelled = cancelledTimers.load(ordering: .relaxed)
        if cancelled > 64 && cancelled * 2 > timers.count {
            let removed = timers.removeAll { !$0.isArmed }
            cancelledTimers.wrappingSubtract(removed, ordering: .relaxed)
        }
    }

    /// Loop thread (or the fallback drain), at shutdown: fails every timer in the heap.
    func failTimersForShutdown() {
        for timer in timers.drain() { timer.failForShutdown() }
    }
}

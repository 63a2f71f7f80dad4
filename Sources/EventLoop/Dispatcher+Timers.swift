import LoopUtilities
import Synchronization

/// A handle to work scheduled on a dispatcher with ``Dispatcher/schedule(after:_:)``.
public final class Scheduled: Sendable {
    enum Payload: Sendable {
        case closure(@Sendable () -> Void)
        case waiter(Waiter)
    }

    let deadline: UInt64
    let payload: Payload
    let dispatcher: Dispatcher
    /// false while armed; the one who flips it (fire, cancel, shutdown) owns the outcome.
    private let done = Atomic<Bool>(false)

    init(deadline: UInt64, payload: Payload, dispatcher: Dispatcher) {
        self.deadline = deadline
        self.payload = payload
        self.dispatcher = dispatcher
    }

    /// Cancels the scheduled work if it has not started: its closure never runs (a sleep
    /// throws `CancellationError`). Callable from any thread, any number of times; does
    /// nothing once the work has run.
    public func cancel() {
        guard claim() else { return }
        dispatcher.cancelledTimers.wrappingAdd(1, ordering: .relaxed)
        if case .waiter(let waiter) = payload { waiter.finish(.failure(CancellationError())) }
    }

    /// Wins the right to deliver this timer's outcome. Acquire/release: the winner sees
    /// everything written before the timer was shared.
    func claim() -> Bool {
        !done.exchange(true, ordering: .acquiringAndReleasing)
    }

    var isArmed: Bool { !done.load(ordering: .relaxed) }

    /// Loop thread: the deadline passed.
    func fire() {
        guard claim() else { return }
        switch payload {
        case .closure(let work): work()
        case .waiter(let waiter): waiter.finish(.success(()))
        }
    }

    /// Loop thread, at shutdown: the loop will never fire this timer.
    func failForShutdown() {
        guard claim() else { return }
        if case .waiter(let waiter) = payload { waiter.finish(.failure(LoopError.shutDown)) }
    }
}

extension Dispatcher {
    /// Runs `work` on the loop thread once `delay` has passed.
    ///
    /// Callable from any thread. A zero or negative delay runs the work on the next loop
    /// iteration; delays longer than about 146 years are clamped. Timers with the same
    /// deadline run in the order they were scheduled. After shutdown the returned handle is
    /// already cancelled and `work` never runs.
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
    /// The calling task may run anywhere (this loop, another loop, the global executor);
    /// it resumes on its own executor. A zero or negative duration returns at once.
    /// - Throws: `CancellationError` when the task is cancelled before or during the sleep
    ///   (the timer is removed at once); ``LoopError/shutDown`` when the dispatcher shuts
    ///   down first.
    public nonisolated(nonsending) func sleep(for duration: Duration) async throws {
        guard duration > .zero else {
            try Task.checkCancellation()
            return
        }
        guard !isShutDown else { throw LoopError.shutDown }
        let waiter = Waiter()
        let timer = Scheduled(deadline: deadline(after: duration), payload: .waiter(waiter), dispatcher: self)
        try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                waiter.install(continuation)
                insertTimer(timer)
            }
        } onCancel: {
            timer.cancel()
        }
    }

    func insertTimer(_ timer: Scheduled) {
        if inLoop && !isShutDown {
            timers.insert(timer, deadline: timer.deadline)
        } else {
            execute { [self] in
                if isShutDown { timer.failForShutdown() } else { timers.insert(timer, deadline: timer.deadline) }
            }
        }
    }

    /// Loop thread: fires every timer whose deadline has passed, in deadline order.
    func fireDueTimers(now: UInt64) {
        while let timer = timers.popDue(now: now) {
            if timer.isArmed {
                timer.fire()
            } else {
                cancelledTimers.wrappingSubtract(1, ordering: .relaxed)
            }
        }
        let cancelled = cancelledTimers.load(ordering: .relaxed)
        if cancelled > 64 && cancelled * 2 > timers.count {
            let removed = timers.removeAll { !$0.isArmed }
            cancelledTimers.wrappingSubtract(removed, ordering: .relaxed)
        }
    }

    func failTimersForShutdown() {
        for timer in timers.drain() { timer.failForShutdown() }
    }
}

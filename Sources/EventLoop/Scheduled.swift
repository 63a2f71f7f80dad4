import Synchronization

/// A handle to work scheduled on a dispatcher with ``Dispatcher/schedule(after:_:)``.
///
/// ``state`` tells what became of the work: still pending, run, cancelled, or dropped
/// because the dispatcher shut down before it fell due (or was already shut down when it
/// was scheduled). Sendable: use it from any thread. Holding it keeps its dispatcher alive.
public final class Scheduled: Sendable {
    /// What became of scheduled work. Each handle leaves ``pending`` once, for one of the
    /// other three, and stays there.
    public enum State: UInt8, Sendable, Hashable {
        /// Armed: the deadline has not passed (or the loop has not yet reached the timer).
        case pending = 0
        /// The deadline passed and the work ran (or, for a sleep, the sleep ended), or it is
        /// running now.
        case fired = 1
        /// ``Scheduled/cancel()`` won: the work never runs.
        case cancelled = 2
        /// The dispatcher shut down before the work fell due, or had shut down before it
        /// was scheduled: the work never runs (a sleep throws ``LoopError/shutDown``).
        case shutDown = 3
    }

    enum Payload: Sendable {
        /// `schedule(after:)`: a closure to run on the loop thread.
        case closure(@Sendable () -> Void)
        /// `sleep(for:)`: the sleeping task's rendezvous, finished when the timer fires.
        case rendezvous(Rendezvous)
    }

    /// Immutable: the monotonic time (nanoseconds) at which the timer is due.
    let deadline: UInt64
    /// Immutable.
    let payload: Payload
    /// Immutable: the dispatcher whose heap holds (or will hold) this timer.
    let dispatcher: Dispatcher
    /// Any thread, atomic (ordering: see `claim(as:)`). A `State` raw value: `pending`
    /// while armed; whoever moves it away from `pending` (fire, cancel, shutdown) owns the
    /// outcome.
    private let rawState = Atomic<UInt8>(State.pending.rawValue)

    init(deadline: UInt64, payload: Payload, dispatcher: Dispatcher) {
        self.deadline = deadline
        self.payload = payload
        self.dispatcher = dispatcher
    }

    /// Cancels the scheduled work if it has not started: its closure never runs (a sleep
    /// throws `CancellationError`). Callable from any thread, any number of times; does
    /// nothing once the work has run. The timer leaves the loop's heap when it falls due or
    /// when the loop compacts the heap.
    public func cancel() {
        guard claim(as: .cancelled) else { return }
        // Relaxed: the count only tells the loop when a compaction of the heap is worth it.
        dispatcher.cancelledTimers.wrappingAdd(1, ordering: .relaxed)
        if case .rendezvous(let rendezvous) = payload { rendezvous.finish(.failure(CancellationError())) }
    }

    /// What became of the work so far. Callable from any thread; a snapshot. Acquiring: a
    /// caller that sees ``State/fired`` also sees what was written before the work started.
    public var state: State {
        State(rawValue: rawState.load(ordering: .acquiring)) ?? .pending
    }

    /// Wins the right to deliver this timer's outcome, recording it as `outcome`; true for
    /// exactly one caller. Acquiring and releasing: the winner sees everything written
    /// before the timer was shared, whichever thread it runs on, and a reader of `state`
    /// that sees the outcome sees what the winner wrote before it.
    func claim(as outcome: State) -> Bool {
        rawState.compareExchange(
            expected: State.pending.rawValue, desired: outcome.rawValue, ordering: .acquiringAndReleasing
        ).exchanged
    }

    /// Whether nobody has claimed the timer yet. Relaxed: only a hint (the loop skips the
    /// claim of a timer it sees cancelled, and its heap compaction drops such timers);
    /// `claim(as:)` decides.
    var isArmed: Bool { rawState.load(ordering: .relaxed) == State.pending.rawValue }

    /// Loop thread: the deadline passed. Returns false when the timer had already been
    /// claimed (cancelled), so that the loop can keep its count of cancelled timers.
    func fire() -> Bool {
        guard claim(as: .fired) else { return false }
        switch payload {
        case .closure(let work): work()
        case .rendezvous(let rendezvous): rendezvous.finish(.success(()))
        }
        return true
    }

    /// Loop thread (or the fallback drain), at shutdown: the loop will never fire this timer.
    func failForShutdown() {
        guard claim(as: .shutDown) else { return }
        if case .rendezvous(let rendezvous) = payload { rendezvous.finish(.failure(LoopError.shutDown)) }
    }
}

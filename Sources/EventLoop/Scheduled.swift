import Synchronization

/// A handle to work scheduled on a dispatcher with ``Dispatcher/schedule(after:_:)``.
///
/// Sendable: use it from any thread. Holding it keeps its dispatcher alive.
public final class Scheduled: Sendable {
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
    /// Any thread, atomic (ordering: see `claim()`). False while armed; whoever flips it
    /// (fire, cancel, shutdown) owns the outcome.
    private let done = Atomic<Bool>(false)

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
        guard claim() else { return }
        // Relaxed: the count only tells the loop when a compaction of the heap is worth it.
        dispatcher.cancelledTimers.wrappingAdd(1, ordering: .relaxed)
        if case .rendezvous(let rendezvous) = payload { rendezvous.finish(.failure(CancellationError())) }
    }

    /// Wins the right to deliver this timer's outcome; true for exactly one caller.
    /// Acquiring and releasing: the winner sees everything written before the timer was
    /// shared, whichever thread it runs on.
    func claim() -> Bool {
        !done.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Whether nobody has claimed the timer yet. Relaxed: only a hint (the loop skips the
    /// claim of a timer it sees cancelled, and its heap compaction drops such timers);
    /// `claim()` decides.
    var isArmed: Bool { !done.load(ordering: .relaxed) }

    /// Loop thread: the deadline passed. Returns false when the timer had already been
    /// claimed (cancelled), so that the loop can keep its count of cancelled timers.
    func fire() -> Bool {
        guard claim() else { return false }
        switch payload {
        case .closure(let work): work()
        case .rendezvous(let rendezvous): rendezvous.finish(.success(()))
        }
        return true
    }

    /// Loop thread (or the fallback drain), at shutdown: the loop will never fire this timer.
    func failForShutdown() {
        guard claim() else { return }
        if case .rendezvous(let rendezvous) = payload { rendezvous.finish(.failure(LoopError.shutDown)) }
    }
}

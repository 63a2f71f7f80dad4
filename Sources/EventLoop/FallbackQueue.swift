import CEventLoop
import LoopUtilities

/// Where a shut-down dispatcher's work goes: a serial queue drained by one task at a time
/// on the global concurrent executor, so late task jobs, actor jobs and closures still run,
/// in order and one at a time, instead of leaving their tasks suspended forever.
///
/// While a drain runs it stands in for the dispatcher's loop thread: it binds the dispatcher
/// as the current one, so isolation checks pass and the dispatcher's loop-only state has
/// one user at a time (only one drain runs at a time). `inLoop` is false there: the loop
/// thread is gone.
///
/// The queue starts held: work submitted to it waits, and no drain starts, until the
/// dispatcher's thread has finished its shutdown and calls ``release(to:)``. So the loop
/// thread's last touches of loop-only state come before the first drain's.
final class FallbackQueue: Sendable {
    private struct State {
        /// Work not yet taken by a drain, in order.
        var work: [Dispatcher.Work] = []
        /// Whether a drain is running or about to start (it alone takes the work).
        var draining = false
        /// True until the dispatcher's thread is done with its loop-only state (`release`).
        var held = true
    }

    /// Any thread, protected by its lock.
    private let state = LockedValue<State>(State())

    /// Any thread: queues `work` and starts a drain unless one is running or the queue is
    /// still held.
    func submit(_ work: Dispatcher.Work, to dispatcher: Dispatcher) {
        let startDrain = state.withLock { state -> Bool in
            state.work.append(work)
            return Self.claimDrain(&state)
        }
        if startDrain { startDraining(for: dispatcher) }
    }

    /// The shutdown, inside the inbox lock that stops the inbox accepting work: queues the
    /// dispatcher's pending work, in order, ahead of anything submitted later. The queue is
    /// still held, so no drain starts and no work runs here.
    func takeOver(_ work: [Dispatcher.Work]) {
        state.withLock { state in
            // Nothing can be queued yet: submissions reach this queue only once the inbox
            // stops accepting, which happens in the same inbox critical section as this call.
            precondition(state.held && state.work.isEmpty, "FallbackQueue.takeOver called twice")
            state.work = work
        }
    }

    /// The dispatcher's thread, at the end of its shutdown, when it no longer touches
    /// loop-only state: lets drains run, and starts one if work is queued.
    func release(to dispatcher: Dispatcher) {
        let startDrain = state.withLock { state -> Bool in
            state.held = false
            return Self.claimDrain(&state)
        }
        if startDrain { startDraining(for: dispatcher) }
    }

    /// Inside the lock: whether the caller is the one to start a drain (and it is marked
    /// started).
    private static func claimDrain(_ state: inout State) -> Bool {
        guard !state.held, !state.draining, !state.work.isEmpty else { return false }
        state.draining = true
        return true
    }

    private func startDraining(for dispatcher: Dispatcher) {
        // The lock orders this drain after the release, so after the loop thread's last use
        // of loop-only state.
        Task.detached { self.drain(for: dispatcher) }
    }

    /// Runs the work queued so far, on a task of the global concurrent executor, then hands
    /// what arrived meanwhile to a new task: a steady stream of late work never holds one of
    /// the pool's threads for long.
    private func drain(for dispatcher: Dispatcher) {
        let batch = state.withLock { state -> [Dispatcher.Work] in
            defer { state.work = [] }
            return state.work
        }
        do {
            // While draining, this thread stands in for the loop thread: it is bound to the
            // dispatcher, so actor isolation checks pass, and loop-only state is touched by
            // one drain at a time. Unretained is sound: `dispatcher` is held by this call
            // until the slot is restored.
            let previous = cel_current_dispatcher()
            cel_set_current_dispatcher(Unmanaged.passUnretained(dispatcher).toOpaque())
            defer { cel_set_current_dispatcher(previous) }
            for work in batch {
                switch work {
                case .task(let job):
                    job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
                case .actor, .closure:
                    dispatcher.runWork(work)
                }
            }
        }
        // Still marked draining, so no other drain started: either this one ends, or the next
        // task carries on with what arrived during the batch.
        let more = state.withLock { state -> Bool in
            if state.work.isEmpty { state.draining = false }
            return state.draining
        }
        if more { startDraining(for: dispatcher) }
    }
}

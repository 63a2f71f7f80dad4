import CEventLoop
import LoopUtilities

/// Where a shut-down dispatcher's work goes: a serial queue drained by one task at a time
/// on the global concurrent executor, so late task jobs, actor jobs and closures still run,
/// in order and one at a time, instead of leaving their tasks suspended forever.
///
/// While a drain runs it stands in for the dispatcher's loop thread: it binds the dispatcher
/// as the current one, so `inLoop` holds and the dispatcher's loop-only state has one user
/// at a time (only one drain runs at a time).
final class FallbackQueue: Sendable {
    private struct State {
        /// Work not yet taken by a drain, in order.
        var work: [Dispatcher.Work] = []
        /// Whether a drain is running or about to start (it alone takes the work).
        var draining = false
    }

    /// Any thread, protected by its lock.
    private let state = LockedValue<State>(State())

    /// Any thread: queues `work` and starts a drain unless one is running.
    func submit(_ work: Dispatcher.Work, to dispatcher: Dispatcher) {
        submit(contentsOf: [work], to: dispatcher)
    }

    /// Any thread: queues `work` in order and starts a drain unless one is running.
    func submit(contentsOf work: [Dispatcher.Work], to dispatcher: Dispatcher) {
        guard !work.isEmpty else { return }
        let startDrain = state.withLock { state -> Bool in
            state.work.append(contentsOf: work)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startDrain {
            Task.detached { self.drain(for: dispatcher) }
        }
    }

    /// Runs queued work until none is left, on a task of the global concurrent executor.
    private func drain(for dispatcher: Dispatcher) {
        // While draining, this thread stands in for the loop thread: `inLoop` is true, so
        // actor isolation checks pass, and loop-only state is touched by one drain at a time.
        // Unretained is sound: `dispatcher` is held by this call until the slot is restored.
        let previous = cel_current_dispatcher()
        cel_set_current_dispatcher(Unmanaged.passUnretained(dispatcher).toOpaque())
        defer { cel_set_current_dispatcher(previous) }
        while true {
            let batch = state.withLock { state -> [Dispatcher.Work]? in
                guard !state.work.isEmpty else {
                    state.draining = false
                    return nil
                }
                defer { state.work = [] }
                return state.work
            }
            guard let batch else { return }
            for work in batch {
                switch work {
                case .task(let job):
                    job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
                case .actor, .closure:
                    dispatcher.runWork(work)
                }
            }
        }
    }
}

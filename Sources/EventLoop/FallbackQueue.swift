import CEventLoop
import LoopUtilities
import Synchronization

/// Where a shut-down dispatcher's work goes: a serial queue drained by one task at a time
/// on the global concurrent executor, so late task jobs, actor jobs and closures still run,
/// in order and one at a time, instead of leaving their tasks suspended forever.
final class FallbackQueue: Sendable {
    private struct State {
        var work: [Dispatcher.Work] = []
        var draining = false
    }

    private let state = LockedValue<State>(State())

    func submit(_ work: Dispatcher.Work, to dispatcher: Dispatcher) {
        submit(contentsOf: [work], to: dispatcher)
    }

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

    private func drain(for dispatcher: Dispatcher) {
        // While draining, this thread stands in for the loop thread: `inLoop` is true, so
        // actor isolation checks pass, and loop-only state is touched by one drain at a time.
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

// The hatch module's uses of the event loop, all in this file and all on the slow paths of
// the blocking and timed waits (`receiveSync`, `sendSync`, `receive(timeout:)`,
// `send(_:timeout:)` and their deadline forms): no blocking call that parks a thread running
// a loop (`Dispatcher.currentThreadRunsALoop`, through `callerRunsALoop()`), and the timers of
// the waits with a timeout (`Dispatcher.timeoutDispatcher()` and `scheduleTimeout`, through
// `TimeoutLoop` and `WaitTimer`). The non-waiting calls and the untimed `receive()`/`send`
// never reach this file.
import EventLoop
import LoopUtilities
import Synchronization

/// Whether the calling thread runs a dispatcher's loop now, where `receiveSync` and
/// `sendSync` must not park it (they throw ``HatchWaitError/wouldBlockLoop`` or
/// ``HatchSendError/wouldBlockLoop(_:)`` instead). Costs a thread-local load; called only on
/// the blocking calls' slow paths, before they spin or park.
func callerRunsALoop() -> Bool {
    Dispatcher.currentThreadRunsALoop
}

/// Where the timers of a task's timed waits live: the caller's loop when the task runs on
/// one, else the process-wide timeout thread (see `Dispatcher.timeoutDispatcher()`).
struct TimeoutLoop: Sendable {
    let dispatcher: Dispatcher

    /// The timeout loop for the calling task. Ask before registering a waiter, so that a
    /// failure takes nothing.
    /// - Throws: `LoopError` when the process-wide timeout thread cannot be started.
    static func forCaller() throws(LoopError) -> TimeoutLoop {
        TimeoutLoop(dispatcher: try Dispatcher.timeoutDispatcher())
    }
}

/// The timer of one timed wait of a task: armed after the waiter is registered, disarmed
/// when the wait has ended (by its timer or any other way), before the waiting call goes on.
///
/// `Scheduled.cancel()` cannot stop a timer whose closure the loop has already started. A
/// wait that ends another way while its timer fires could otherwise go on to its next
/// registration while that closure still runs, and the closure would wake a wait that is not
/// its own. ``disarm()`` closes the window: when it returns, the closure has either never run
/// or finished, so a timer only ever acts on its own wait. A satisfied wait leaves no timer
/// armed on the loop.
struct WaitTimer: Sendable {
    /// Set by the closure when it has finished.
    final class Finished: Sendable {
        /// Any thread, atomic. Releasing store, acquiring load: a waiter that sees it set also
        /// sees everything the closure did (its lock or state-word accesses).
        private let flag = Atomic<Bool>(false)

        func set() { flag.store(true, ordering: .releasing) }
        var isSet: Bool { flag.load(ordering: .acquiring) }
    }

    let scheduled: Scheduled
    let finished: Finished

    /// Arms `fire` to run on `loop`'s thread at `deadline` (monotonic nanoseconds). `fire`
    /// must be short and must not block: it only takes a waiter out and resumes it.
    init(on loop: TimeoutLoop, deadline: UInt64, _ fire: @escaping @Sendable () -> Void) {
        let finished = Finished()
        self.finished = finished
        scheduled = loop.dispatcher.scheduleTimeout(deadline: deadline) {
            fire()
            finished.set()
        }
    }

    /// Cancels the timer, or, when its closure has already started, waits for the closure to
    /// finish (a few instructions on the loop thread: a spin that yields if that thread was
    /// preempted). On the timer's own loop thread a started closure has always finished: the
    /// loop runs it before the job that continues the wait.
    func disarm() {
        scheduled.cancel()
        // `state` is an acquiring load: `fired` means the loop claimed the timer, so the
        // closure runs or has run; `cancelled` and `shutDown` mean it never will.
        guard scheduled.state == .fired else { return }
        var backoff = Backoff()
        while !finished.isSet { backoff.snooze() }
    }
}

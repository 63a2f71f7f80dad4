import CEventLoop
import LoopUtilities

extension Dispatcher {
    /// Arms the timeout of one wait on this dispatcher (one returned by
    /// ``timeoutDispatcher()``): runs `fire` once the monotonic clock reaches `deadline`
    /// (nanoseconds, as `monotonicNanoseconds()` reads it), unless the returned handle is
    /// cancelled first. `fire` runs on the loop's thread: keep it short (the channels only
    /// remove a waiter and resume it). Any thread; never fails.
    @usableFromInline
    package func scheduleTimeout(deadline: UInt64, _ fire: @escaping @Sendable () -> Void) -> Scheduled {
        let timer = Scheduled(deadline: deadline, payload: .closure(fire), dispatcher: self)
        insertTimer(timer)
        return timer
    }

    /// Where the timeout of a wait made here lives: the caller's loop when the caller runs
    /// on a live loop (a task or closure on a ``LoopThread``, or inside `run()`/`waitFor`),
    /// so a wait there costs no other thread; anywhere else (the global executor, an actor
    /// on it, a plain thread) one process-wide loop thread, `loop-timeouts`, started on
    /// first use. Ask before registering a waiter, so that a failure takes nothing.
    /// - Throws: ``LoopError`` when the process-wide timeout thread cannot be started (out
    ///   of descriptors or threads); the next call tries again.
    @usableFromInline
    package static func timeoutDispatcher() throws(LoopError) -> Dispatcher {
        if let raw = cel_current_dispatcher() {
            // Read on the bound thread: the slot's dispatcher is alive while it is bound, and
            // `isRunning` is loop-thread state read on the loop thread.
            let own = withUnretainedReference(Unmanaged<Dispatcher>.fromOpaque(raw)) { dispatcher in
                dispatcher.isRunning && !dispatcher.isShutDown ? dispatcher : nil
            }
            if let own { return own }
        }
        return try SharedTimeoutLoop.dispatcher()
    }
}

/// The process-wide loop that carries the timeouts of waits made off any loop. Started on
/// first use and never shut down (it blocks in `epoll_wait` while it has no timer).
private enum SharedTimeoutLoop {
    /// Any thread, under its lock: the loop once started.
    private static let loop = LockedValue<LoopThread?>(nil)

    static func dispatcher() throws(LoopError) -> Dispatcher {
        try loop.withLock { (loop: inout LoopThread?) throws(LoopError) -> Dispatcher in
            if let loop { return loop.dispatcher }
            let started = try LoopThread(name: "loop-timeouts")
            loop = started
            return started.dispatcher
        }
    }
}

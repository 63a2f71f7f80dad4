import CEventLoop
import LoopUtilities

extension Dispatcher {
    /// Whether a thread about to spin-wait should rather suspend at once: true on a loop
    /// thread whose dispatcher has other ready work (a spin there would only delay it, and
    /// the work awaited may be among it). False off loop threads. Costs a thread-local load.
    ///
    /// The channels use it so that `AsyncChannel`'s receive skips its brief spin when this
    /// is true.
    @usableFromInline
    package static var currentLoopHasReadyWork: Bool {
        guard let raw = cel_current_dispatcher() else { return false }
        // Loop-thread state, read on the loop thread: the slot holds this thread's dispatcher,
        // which the thread keeps alive while it is bound, so no retain is needed.
        return withUnretainedReference(Unmanaged<Dispatcher>.fromOpaque(raw)) { dispatcher in
            !dispatcher.local.isEmpty || dispatcher.inboxHasWork.load(ordering: .relaxed)
        }
    }

    /// Whether the calling thread is running a dispatcher's loop now, so that blocking it
    /// would stall every task and timer of that loop (often forever: the reply a blocked call
    /// waits for would come from a task on the same loop).
    ///
    /// True on a ``LoopThread``, inside ``run()`` or ``waitFor(_:)`` on a thread dispatcher
    /// (from any task, actor job or closure the loop runs), and on the fallback drain that
    /// stands in for a shut-down dispatcher's thread. False on a thread with no dispatcher,
    /// and false on a thread that called ``forCurrentThread()`` but is not inside `run()` or
    /// `waitFor(_:)` now: between two loop runs such a thread is a plain thread and may block.
    ///
    /// The blocking calls for plain threads (`ThreadSignal.waitSync(timeout:)`, the channels'
    /// `receiveSync()` and `sendSync(_:)`) check it on their slow path, right before they
    /// would park the thread, and fail instead. Callable from any thread; costs a thread-local
    /// load and, on a bound thread, two loads of the dispatcher's state.
    @usableFromInline
    package static var currentThreadRunsALoop: Bool {
        guard let raw = cel_current_dispatcher() else { return false }
        // Read on the bound thread: the slot holds this thread's dispatcher (kept alive while
        // it is bound, see `current`), so no retain is needed. `isRunning` is loop-thread
        // state read on the loop thread. A shut-down dispatcher is bound only to its fallback
        // drain (shutdown unbinds the owning thread), which runs the loop's work.
        return withUnretainedReference(Unmanaged<Dispatcher>.fromOpaque(raw)) { dispatcher in
            dispatcher.isRunning || dispatcher.isShutDown
        }
    }
}

import CEventLoop
import LoopUtilities

extension Dispatcher {
    /// Whether a thread about to spin-wait should rather suspend at once: true on a loop
    /// thread whose dispatcher has other ready work (a spin there would only delay it, and
    /// the work awaited may be among it). False off loop threads. Costs a thread-local load.
    ///
    /// The channels' one use of the loop's internals: `AsyncChannel`'s receive skips its
    /// brief spin when this is true.
    @usableFromInline
    package static var currentLoopHasReadyWork: Bool {
        guard let raw = cel_current_dispatcher() else { return false }
        // Loop-thread state, read on the loop thread: the slot holds this thread's dispatcher,
        // which the thread keeps alive while it is bound, so no retain is needed.
        return withUnretainedReference(Unmanaged<Dispatcher>.fromOpaque(raw)) { dispatcher in
            !dispatcher.local.isEmpty || dispatcher.inboxHasWork.load(ordering: .relaxed)
        }
    }
}

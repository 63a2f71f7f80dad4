import CEventLoop
import Glibc

/// One iteration of a spin-wait: tells the CPU the thread is spinning (x86 `pause`), which
/// frees resources for the sibling hyper-thread and eases the memory-order pipeline flush
/// when the awaited value arrives. For the channels' brief spins before they block.
@usableFromInline
package func spinLoopHint() {
    cel_spin_loop_hint()
}

/// Gives the CPU to another runnable thread (`sched_yield`): for a spin that has waited
/// long enough that the thread it waits for was probably preempted.
@usableFromInline
package func yieldThread() {
    sched_yield()
}

extension Dispatcher {
    /// Whether a thread about to spin-wait should rather suspend at once: true on a loop
    /// thread whose dispatcher has other ready work (a spin there would only delay it, and
    /// the work awaited may be among it). False off loop threads. Costs a thread-local load.
    @usableFromInline
    package static var currentLoopHasReadyWork: Bool {
        guard let raw = cel_current_dispatcher() else { return false }
        // Loop-thread state, read on the loop thread: the slot holds this thread's dispatcher,
        // which the thread keeps alive while it is bound, so no retain is needed.
        return Unmanaged<Dispatcher>.fromOpaque(raw)._withUnsafeGuaranteedRef { dispatcher in
            !dispatcher.local.isEmpty || dispatcher.inboxHasWork.load(ordering: .relaxed)
        }
    }
}

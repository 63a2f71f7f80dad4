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

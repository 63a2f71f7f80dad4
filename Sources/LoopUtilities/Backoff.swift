import CEventLoop
import Glibc

/// The package's one spin policy, for every loop that waits on another thread without
/// blocking: a task's channel receive that spins briefly before it suspends (the waits
/// that block a thread spin as their idle policy allows instead, see `IdleWait`), a
/// compare-and-swap that lost a race, a reader waiting for a writer that has
/// claimed a slot but not yet filled it, a spin lock that is taken.
///
/// Every spin is made of CPU pause hints (x86 `pause`, Arm `yield`): they free resources
/// for the sibling hyper-thread and ease the pipeline flush when the awaited value arrives.
/// A bounded spin stops after ``limit`` pauses; a wait that cannot stop spinning yields its
/// CPU after ``limit`` pauses, because the thread it waits for has probably been preempted.
///
/// A value type with no atomics: each waiting loop keeps its own.
@frozen
@usableFromInline
package struct Backoff {
    @usableFromInline var step: Int

    /// The pauses a thread spends before it blocks, registers or yields: 64, about 1.5 µs
    /// where a pause costs 24 ns (an AMD EPYC), well below the cost of a suspension and a
    /// cross-thread wake-up, and long enough for a thread that is awake to answer.
    @inlinable
    package static var limit: Int { 64 }

    /// A back-off that has not spun yet.
    @inlinable
    package init() { step = 0 }

    /// A back-off whose bounded spin is already spent: for a caller that must not spin (a
    /// loop thread with other ready work, whose spin would only delay that work).
    @inlinable
    package static var spent: Backoff {
        var backoff = Backoff()
        backoff.step = limit
        return backoff
    }

    /// Whether the bounded spin of ``pauseIfNotSpent()`` is over.
    @inlinable
    package var isSpent: Bool { step >= Self.limit }

    /// One pause of a bounded spin before blocking: pauses and returns true, or returns
    /// false without pausing once ``limit`` pauses have been spent (time to block).
    @inlinable
    @inline(__always)
    package mutating func pauseIfNotSpent() -> Bool {
        guard step < Self.limit else { return false }
        step &+= 1
        spinLoopHint()
        return true
    }

    /// After a lost compare-and-swap: 1, 2, 4, … up to ``limit`` pauses, doubling with each
    /// call (crossbeam's `Backoff::spin`), never a yield: the winner is running.
    @inlinable
    package mutating func spin() {
        let exponent = min(step, Self.limit.trailingZeroBitCount)
        for _ in 0..<(1 << exponent) { spinLoopHint() }
        step &+= 1
    }

    /// One step of a wait for another thread's progress that cannot be blocked on: a pause
    /// for the first ``limit`` calls, then a yield of the CPU (`sched_yield`) on each call.
    @inlinable
    package mutating func snooze() {
        if step < Self.limit {
            step &+= 1
            spinLoopHint()
        } else {
            yieldProcessor()
        }
    }
}

/// One CPU pause hint (x86 `pause`, Arm `yield`).
@usableFromInline
package func spinLoopHint() {
    cel_spin_loop_hint()
}

/// Gives the CPU to another runnable thread (`sched_yield`).
@usableFromInline
func yieldProcessor() {
    sched_yield()
}

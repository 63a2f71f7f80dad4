import CEventLoop

/// An idle policy as the waits use it: how long a thread or a loop spins before it blocks,
/// and whether it adapts that spin to how long its recent waits lasted. The public face is
/// `IdlePolicy` in module EventLoop; this is its encoding, one word, so that a loop can keep
/// it in an atomic and a plain thread in its thread-local slot (`cel_idle_state`).
///
/// The word: 0 is the default adaptive policy (so a zero-initialised slot means it);
/// otherwise the top two bits name the kind and the low 62 bits the window in nanoseconds.
@frozen
@usableFromInline
package struct IdleSettings: Sendable, Hashable {
    @usableFromInline
    package enum Kind: UInt64, Sendable {
        case adaptive = 1
        case spin = 2
        case never = 3
    }

    /// The encoded word.
    @usableFromInline
    package var rawValue: UInt64

    /// The default adaptive window: 50 µs. See `IdlePolicy.defaultAdaptiveWindow` for why.
    @inlinable
    package static var defaultWindowNanoseconds: Int64 { 50_000 }

    /// The longest window: 1 s. Longer ones are clamped to it.
    @inlinable
    package static var maximumWindowNanoseconds: Int64 { 1_000_000_000 }

    /// The settings a word encodes; 0 (a fresh thread's slot) reads as ``default``.
    @inlinable
    package init(rawValue: UInt64) {
        self.rawValue = rawValue == 0 ? Self.default.rawValue : rawValue
    }

    /// A policy of `kind` with a window of `windowNanoseconds`, clamped to
    /// `0 ... maximumWindowNanoseconds` (always 0 for `never`).
    @inlinable
    package init(kind: Kind, windowNanoseconds: Int64) {
        let window = kind == .never ? 0 : UInt64(min(max(windowNanoseconds, 0), Self.maximumWindowNanoseconds))
        rawValue = kind.rawValue << 62 | window
    }

    /// The default: adaptive, with the default window.
    @inlinable
    package static var `default`: IdleSettings {
        IdleSettings(kind: .adaptive, windowNanoseconds: defaultWindowNanoseconds)
    }

    /// What the policy does.
    @inlinable
    package var kind: Kind { Kind(rawValue: rawValue >> 62) ?? .adaptive }

    /// The spin window in nanoseconds (0 for `never`).
    @inlinable
    package var windowNanoseconds: Int64 { Int64(rawValue & (1 << 62 - 1)) }
}

/// The adaptive part of an idle policy: how the recent spins of one waiting thread or loop
/// ended, kept in one 64-bit word (the loop in its own state, a plain thread in its
/// thread-local slot). Only its owner touches it.
///
/// Two things adapt:
/// - Whether to spin. `misses` rises by one for a spin that ran out and falls by two for
///   one that saw its wait end: spinning goes on while at least a third of the spins end in
///   time. At ``missLimit`` the owner stops spinning and only probes: one spin after 8 waits
///   without one, then after 16, 32, 64 while probes keep missing. A probe that hits brings
///   the spinning back.
/// - How long to spin, within the window. A hit sets the next spin's length to four times
///   how long that wait took (at least ``shortestSpinNanoseconds``); a miss doubles it. A
///   waiter whose answers come within a microsecond spins a few microseconds, so that a
///   wait that will be long (the other thread was preempted) costs little before it parks;
///   answers that get slower make it spin longer again, up to the window.
@frozen
@usableFromInline
package struct IdleHistory: Sendable, Hashable {
    @usableFromInline
    package var misses: UInt8
    /// Waits made without a spin since the last probe.
    @usableFromInline
    package var skips: UInt8
    /// How many probes in a row have missed (0 ... 3): the next probe comes after
    /// `8 << probeLevel` skipped waits.
    @usableFromInline
    package var probeLevel: UInt8
    /// The next spin's length in nanoseconds; 0: the whole window (a fresh history).
    @usableFromInline
    package var spinNanoseconds: UInt32

    @inlinable
    package static var missLimit: UInt8 { 4 }

    /// The shortest spin the history settles on: 2 µs, a few round trips between two
    /// threads that are both awake.
    @inlinable
    package static var shortestSpinNanoseconds: Int64 { 2_000 }

    /// A fresh history: spinning, for the whole window.
    @inlinable
    package init() {
        misses = 0
        skips = 0
        probeLevel = 0
        spinNanoseconds = 0
    }

    @inlinable
    package init(rawValue: UInt64) {
        misses = UInt8(truncatingIfNeeded: rawValue)
        skips = UInt8(truncatingIfNeeded: rawValue >> 8)
        probeLevel = UInt8(truncatingIfNeeded: rawValue >> 16)
        spinNanoseconds = UInt32(truncatingIfNeeded: rawValue >> 32)
    }

    @inlinable
    package var rawValue: UInt64 {
        UInt64(misses) | UInt64(skips) << 8 | UInt64(probeLevel) << 16 | UInt64(spinNanoseconds) << 32
    }

    /// Whether the recent spins have paid, so that the owner spins without probing.
    @inlinable
    package var isWarm: Bool { misses < Self.missLimit }

    /// Decides whether the next wait spins: yes while warm, and on a cold history once every
    /// `8 << probeLevel` waits (a probe); counts the skipped wait otherwise.
    @inlinable
    package mutating func shouldSpin() -> Bool {
        if isWarm { return true }
        if skips >= 8 << probeLevel {
            skips = 0
            return true
        }
        skips &+= 1
        return false
    }

    /// How long the next spin lasts under a policy whose window is `window` nanoseconds.
    @inlinable
    package func spinLength(window: Int64) -> Int64 {
        spinNanoseconds == 0 ? window : min(Int64(spinNanoseconds), window)
    }

    /// Records how a spin under a window of `window` nanoseconds ended: `hit` when the wait
    /// ended within it, after `waited` nanoseconds of spinning. A hit seen only after more
    /// than the window (the spinning thread was descheduled meanwhile, and saw the event when
    /// it ran again) counts as a miss: the wait did outlast the window.
    @inlinable
    package mutating func record(hit spinHit: Bool, waited: Int64, window: Int64) {
        let hit = spinHit && waited <= window
        if hit {
            misses = misses >= 2 ? misses - 2 : 0
            probeLevel = 0
            let next = min(
                max(waited.multipliedReportingOverflow(by: 4).partialValue, Self.shortestSpinNanoseconds), window)
            spinNanoseconds = UInt32(clamping: max(next, 1))
        } else {
            if isWarm {
                misses += 1
            } else {
                // A probe that missed: wait longer before the next one.
                probeLevel = min(probeLevel + 1, 3)
            }
            let doubled = min(spinLength(window: window).multipliedReportingOverflow(by: 2).partialValue, window)
            spinNanoseconds = UInt32(clamping: max(doubled, 1))
        }
    }
}

/// The spin of one wait, before the waiter blocks: a budget of CPU pauses bounded by a
/// deadline on the monotonic clock, decided when the wait begins by the waiter's idle
/// policy. ``spin(while:)`` spends it; a value that must not spin is spent from the start.
///
/// Every look at the awaited condition is followed by one CPU pause hint (x86 `pause`, Arm
/// `yield`); the clock is read once every ``pausesPerClockCheck`` pauses. A value type; each
/// wait keeps its own.
///
/// A spin with a deadline gives its CPU away (`sched_yield`) once every ``yieldInterval``
/// of spinning. The thread it waits for may be runnable on this very CPU: the scheduler
/// often wakes a thread on its waker's CPU, and two threads that take turns sleeping and
/// waking each other can settle on one CPU. There a spin that never yields holds the CPU
/// until the scheduler preempts it (milliseconds), so every spin misses, the adaptive
/// histories of both sides learn that spinning does not pay, and they stay together,
/// parking on every exchange. A yield lets the other thread run at once; with both
/// runnable, the scheduler's balancing then moves one of them to an idle CPU. Where no
/// other thread is runnable the yield returns at once (about 0.3 µs), and a spin shorter
/// than the interval never yields.
@frozen
@usableFromInline
package struct IdleWait {
    // Five words: small enough to be passed in registers. With a sixth, the compiler passed
    // the value by reference, and the spin's callee read the caller's fresh stores with wider
    // loads that could not be forwarded: a stall on every receive, 14 % of the profile of
    // `xthread-post-1p1c` with its consumer on the global executor.

    /// Pauses left before the next look at the clock (or, with no deadline, before the end).
    @usableFromInline var pausesLeft: Int
    /// The monotonic time the spin ends; 0: it ends when `pausesLeft` runs out.
    @usableFromInline var deadline: UInt64
    /// Whether the outcome goes into the calling thread's adaptive history (once).
    @usableFromInline var recordsOnThread: Bool
    /// When the spin began (monotonic nanoseconds), for the history; 0 when not recorded.
    @usableFromInline var start: UInt64
    /// When the spin next yields its CPU (monotonic nanoseconds); `UInt64.max`: never (a
    /// spin without a deadline, which is too short to need it).
    @usableFromInline var nextYield: UInt64

    /// Pauses between two looks at the clock: about 0.2 µs where a pause costs 24 ns (an
    /// AMD EPYC), so a window overshoots by that much at most and the clock costs a few
    /// percent of the spin.
    @inlinable
    package static var pausesPerClockCheck: Int { 8 }

    @inlinable
    init(
        pausesLeft: Int,
        deadline: UInt64,
        recordsOnThread: Bool = false,
        start: UInt64 = 0,
        nextYield: UInt64 = .max
    ) {
        self.pausesLeft = pausesLeft
        self.deadline = deadline
        self.recordsOnThread = recordsOnThread
        self.start = start
        self.nextYield = nextYield
    }

    /// How much spinning passes between two yields of the CPU: 4 µs, twice the shortest
    /// adaptive spin (so the spins of two threads that answer each other within a
    /// microsecond never yield), and about 13 yields' worth of time, so that the yields cost
    /// a spin on an otherwise idle CPU under 10 % of its time.
    @inlinable
    package static var yieldInterval: UInt64 { 4_000 }

    /// No spin at all: the waiter blocks at once.
    @inlinable
    package static var none: IdleWait { IdleWait(pausesLeft: 0, deadline: 0) }

    /// The package's brief bounded spin (`Backoff.limit` pauses, about 1.5 µs), not adapted:
    /// for a wait on a thread that runs a loop, which must not hold the loop for a window.
    @inlinable
    package static var brief: IdleWait { IdleWait(pausesLeft: Backoff.limit, deadline: 0) }

    /// A spin from `start` until `deadline` (monotonic nanoseconds), recorded in no history:
    /// for the loop, which keeps its own. It yields its CPU once per ``yieldInterval``,
    /// counted from `start`.
    @inlinable
    package static func until(_ deadline: UInt64, from start: UInt64 = monotonicNanoseconds()) -> IdleWait {
        IdleWait(pausesLeft: pausesPerClockCheck, deadline: deadline, nextYield: start &+ yieldInterval)
    }

    /// The spin that the calling plain thread's idle policy grants the wait that begins now:
    /// none for `never`, the window for `spin`, and for `adaptive` the length its history
    /// settled on (at most the window) while that history is warm or a probe is due, else
    /// none. Never past `limit` (monotonic nanoseconds; the wait's own deadline): a spin cut
    /// short by it is not recorded, since it says nothing about the thread's waits. Reads
    /// and, when it skips a spin, updates the thread-local history.
    @usableFromInline
    package static func forPlainThread(limit: UInt64 = .max) -> IdleWait {
        // The calling thread's own `_Thread_local` slot: valid for as long as the thread
        // lives, and touched by no other thread, so plain loads and stores are enough.
        let slot = cel_current_idle_state()!
        let settings = IdleSettings(rawValue: slot.pointee.policy)
        let window = settings.windowNanoseconds
        guard settings.kind != .never, window > 0 else { return .none }
        var length = window
        if settings.kind == .adaptive {
            var history = IdleHistory(rawValue: slot.pointee.history)
            let spins = history.shouldSpin()
            slot.pointee.history = history.rawValue
            guard spins else { return .none }
            length = history.spinLength(window: window)
        }
        let now = cel_monotonic_ns()
        let end = now &+ UInt64(length)
        if limit < end { return .until(limit, from: now) }
        return IdleWait(
            pausesLeft: pausesPerClockCheck,
            deadline: end,
            recordsOnThread: settings.kind == .adaptive,
            start: now,
            nextYield: now &+ yieldInterval
        )
    }

    /// Whether nothing is left to spend.
    @inlinable
    package var isSpent: Bool { pausesLeft == 0 && deadline == 0 }

    /// Pauses, then spins while `waiting()` is true and the budget lasts. Returns true as
    /// soon as `waiting()` is false (the wait may be over: look), false once the budget is
    /// spent (time to block), and false at once when it was spent already. Each call spends
    /// at least one pause, so a caller that loops on a look that fails although `waiting()`
    /// is false (another consumer was faster) still ends.
    @inlinable
    @inline(__always)
    package mutating func spin(while waiting: () -> Bool) -> Bool {
        repeat {
            guard pause() else { return false }
        } while waiting()
        record(hit: true)
        return true
    }

    /// One step of a spin: pauses and returns true, or returns false once the budget is
    /// spent (recording a missed spin). For a spin that polls rather than watches a
    /// condition (a select's cases): call ``ended()`` when a poll succeeds. A step that
    /// reads the clock past the spin's next yield time yields the CPU first (see the type's
    /// comment).
    @inlinable
    @inline(__always)
    package mutating func pause() -> Bool {
        if pausesLeft == 0 && !lookAtTheClock() { return false }
        pausesLeft &-= 1
        spinLoopHint()
        return true
    }

    /// The rare step of ``pause()``, once its pauses since the last look are spent, kept out
    /// of line so that the spin loops it is inlined into stay small: ends a spin without a
    /// deadline or past it (recording a miss) and returns false; otherwise yields the CPU when
    /// the next yield is due, grants ``pausesPerClockCheck`` more pauses and returns true.
    @usableFromInline
    mutating func lookAtTheClock() -> Bool {
        let now = deadline != 0 ? monotonicNanoseconds() : 0
        guard now < deadline else {
            deadline = 0
            record(hit: false)
            return false
        }
        if now >= nextYield {
            yieldProcessor()
            nextYield = now &+ Self.yieldInterval
        }
        pausesLeft = Self.pausesPerClockCheck
        return true
    }

    /// Records that the awaited event came during the spin (see ``pause()``).
    @inlinable
    package mutating func ended() {
        record(hit: true)
    }

    /// Records the outcome in the thread's history, once per wait.
    @inlinable
    mutating func record(hit: Bool) {
        guard recordsOnThread else { return }
        recordsOnThread = false
        Self.recordOnThread(hit: hit, start: start)
    }

    /// Adds an outcome to the calling thread's history.
    @usableFromInline
    static func recordOnThread(hit: Bool, start: UInt64) {
        // The calling thread's own slot (see `forPlainThread`).
        let slot = cel_current_idle_state()!
        // The window of the policy the spin began under: only this thread sets its policy,
        // and it cannot have done so during its own wait.
        let window = IdleSettings(rawValue: slot.pointee.policy).windowNanoseconds
        var history = IdleHistory(rawValue: slot.pointee.history)
        let waited = hit ? Int64(clamping: cel_monotonic_ns() &- start) : 0
        history.record(hit: hit, waited: waited, window: window)
        slot.pointee.history = history.rawValue
    }
}

/// The calling thread's idle settings (its thread-local slot). Any thread, for itself.
@usableFromInline
package var currentThreadIdleSettings: IdleSettings {
    get { IdleSettings(rawValue: cel_current_idle_state()!.pointee.policy) }
    set {
        // The calling thread's own slot (see `IdleWait.forPlainThread`).
        let slot = cel_current_idle_state()!
        // A new policy starts from a fresh history.
        if slot.pointee.policy != newValue.rawValue { slot.pointee.history = 0 }
        slot.pointee.policy = newValue.rawValue
    }
}

/// The calling thread's adaptive history, for tests. Any thread, for itself.
package var currentThreadIdleHistory: IdleHistory {
    IdleHistory(rawValue: cel_current_idle_state()!.pointee.history)
}

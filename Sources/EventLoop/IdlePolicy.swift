import CEventLoop
public import LoopUtilities

/// How a loop or a waiting plain thread spends the moment before it blocks: spin for the
/// awaited event for a while, or sleep in the kernel at once.
///
/// A wake-up from the kernel costs the woken thread tens of microseconds on a virtual
/// machine (a futex or eventfd write, a reschedule, a cache refill on another CPU), and it
/// costs the waker a system call. A waiter that spins instead sees the event within a
/// fraction of a microsecond and spares its waker the system call, but burns its CPU while
/// it spins. An idle policy bounds that spin:
///
/// - ``adaptive``, the default: spin up to ``defaultAdaptiveWindow`` while recent waits
///   ended within it, and stop spinning when they keep outlasting it (probing now and then,
///   so that spinning comes back when waits get short again).
/// - ``adaptive(window:)``: the same with another window.
/// - ``spin(for:)``: always spin up to the window before blocking.
/// - ``never``: block at once, with no spin at all.
///
/// An idle loop or thread never spins longer than its window per wait, so an idle process
/// burns no CPU: a loop with nothing to do spins once (at most one window) and then sleeps
/// in `epoll_wait` until work comes.
///
/// A spin yields its CPU (`sched_yield`) once every 4 µs, so that a thread it waits for that
/// the scheduler placed on the same CPU can run at once instead of after the scheduler's
/// next tick; where nothing else is runnable, the yield returns at once.
///
/// Where a policy applies:
/// - A loop: ``Dispatcher/idlePolicy`` (``LoopThread/init(name:idlePolicy:)``,
///   ``LoopGroup/init(loops:name:idlePolicy:)``). An idle loop spins watching its inbox, its
///   timers and (with a zero-timeout poll now and then) its descriptors; producers write
///   no wake eventfd meanwhile.
/// - A plain thread: ``currentThread``, the policy of the blocking waits the calling thread
///   makes (`receiveSync` and `sendSync` of the channels, hatches and multishots,
///   ``ThreadSignal/waitSync(timeout:)``). A waiting thread that runs a loop never spins for
///   a window (at most about a microsecond, and not at all when its loop has ready work).
///
/// The waits of tasks (`receive()`, `wait()`) do not use a policy: a task suspends, and its
/// loop's policy decides how the loop idles.
public struct IdlePolicy: Sendable, Hashable, CustomStringConvertible {
    /// The encoded policy.
    let settings: IdleSettings

    init(settings: IdleSettings) {
        self.settings = settings
    }

    /// The default window of ``adaptive``: 50 µs.
    ///
    /// Spinning for as long as a blocking wait costs is the classic spin-then-block choice:
    /// a waiter that spins for that long and then blocks never pays more than twice what
    /// the best choice in hindsight would have cost. On the 2-vCPU AMD EPYC virtual machine
    /// the benchmarks run on, a wake-up of a thread blocked on the other vCPU costs 25–60 µs
    /// (`pingpong-thread-loop`'s `eventfd-floor`, two such wake-ups per round trip, takes
    /// 32–56 µs; single wake-ups measured up to about 60 µs), so 50 µs covers one wake-up
    /// on most runs, and a request whose reply takes up to 50 µs costs no wake-up at all.
    public static var defaultAdaptiveWindow: Duration { .nanoseconds(IdleSettings.defaultWindowNanoseconds) }

    /// The longest window a policy keeps: 1 s. A longer window is clamped to it.
    public static var maximumWindow: Duration { .nanoseconds(IdleSettings.maximumWindowNanoseconds) }

    /// The default policy: adaptive, with the ``defaultAdaptiveWindow``.
    ///
    /// Spins up to the window while at least about a third of the recent spins saw their
    /// wait end in time (a score of the last few outcomes: a spin that ran out its window
    /// counts one against, one that ended in time two for). After four misses more than
    /// such hits it stops spinning and probes: one spin after 8 waits without one, then after
    /// 16, 32, 64 while the probes keep missing. A probe that sees its wait end in time
    /// brings the spinning back.
    public static var adaptive: IdlePolicy { IdlePolicy(settings: .default) }

    /// An adaptive policy (see ``adaptive``) with the given window.
    /// - Parameter window: the longest spin per wait. Zero makes it ``never``; a window
    ///   longer than ``maximumWindow`` is clamped to it. A negative window stops the
    ///   process with a message (a programming error, like a negative count).
    /// - Returns: the policy.
    public static func adaptive(window: Duration) -> IdlePolicy {
        IdlePolicy(kind: .adaptive, window: window, function: "adaptive(window:)")
    }

    /// A policy that always spins up to `duration` before it blocks, whatever recent waits
    /// were like: for a latency-critical thread or loop that may burn a CPU while it waits.
    /// - Parameter duration: the longest spin per wait. Zero makes it ``never``; a duration
    ///   longer than ``maximumWindow`` is clamped to it. A negative duration stops the
    ///   process with a message.
    /// - Returns: the policy.
    public static func spin(for duration: Duration) -> IdlePolicy {
        IdlePolicy(kind: .spin, window: duration, function: "spin(for:)")
    }

    /// A policy that blocks at once, with no spin at all: the least CPU, and a kernel
    /// wake-up for every wait that does not find its event ready.
    public static var never: IdlePolicy { IdlePolicy(settings: IdleSettings(kind: .never, windowNanoseconds: 0)) }

    private init(kind: IdleSettings.Kind, window: Duration, function: String) {
        if window < .zero {
            fatalError("IdlePolicy.\(function) needs a window of zero or more, not \(window)")
        }
        let nanoseconds = window.clampedNanoseconds
        self.init(
            settings: nanoseconds == 0
                ? IdleSettings(kind: .never, windowNanoseconds: 0)
                : IdleSettings(kind: kind, windowNanoseconds: nanoseconds)
        )
    }

    /// The longest spin per wait: zero for ``never``. Read from any thread.
    public var window: Duration { .nanoseconds(settings.windowNanoseconds) }

    /// Whether the policy adapts its spin to recent waits (``adaptive``,
    /// ``adaptive(window:)``). Read from any thread.
    public var isAdaptive: Bool { settings.kind == .adaptive }

    /// The policy as code spells it, for logs: `.adaptive(window: 50.0 µs)`, `.never`.
    public var description: String {
        let microseconds = Double(settings.windowNanoseconds) / 1000
        switch settings.kind {
        case .adaptive: return ".adaptive(window: \(microseconds) µs)"
        case .spin: return ".spin(for: \(microseconds) µs)"
        case .never: return ".never"
        }
    }

    /// The idle policy of the calling thread's blocking waits (`receiveSync`, `sendSync`,
    /// ``ThreadSignal/waitSync(timeout:)``): ``adaptive`` until the thread sets another.
    ///
    /// Thread-local: each thread reads and sets its own, so set it at the start of a plain
    /// thread's body (a worker, a blocking I/O thread). It does not apply to a loop, which
    /// has ``Dispatcher/idlePolicy``, nor to a task's waits. Setting a policy (other than the
    /// one in force) starts its adaptive history afresh. Callable from any thread; from a
    /// task it sets the policy of whatever thread runs the task now, which is rarely meant.
    public static var currentThread: IdlePolicy {
        get { IdlePolicy(settings: currentThreadIdleSettings) }
        set { currentThreadIdleSettings = newValue.settings }
    }
}

extension IdleWait {
    /// The spin a blocking wait of the calling thread begins with: none on a loop thread
    /// with other ready work (the spin would only delay it), the package's brief bounded
    /// spin on another thread that runs a loop (which must not be held for a window), else
    /// the thread's ``IdlePolicy/currentThread``. Never past `limit` (monotonic
    /// nanoseconds): the wait's own deadline. Costs a thread-local load or two, and a look
    /// at the clock when it spins.
    @inlinable
    package static func forBlockingWait(limit: UInt64 = .max) -> IdleWait {
        if Dispatcher.currentLoopHasReadyWork { return .none }
        if Dispatcher.currentThreadRunsALoop { return .brief }
        return .forPlainThread(limit: limit)
    }
}

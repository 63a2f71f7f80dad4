import CEventLoop
import LoopUtilities
import Synchronization

/// A per-thread event loop that is a Swift executor: the place where async tasks, actors,
/// timers and descriptor readiness of one thread are driven, like chronos's dispatcher.
///
/// Each dispatcher belongs to one thread. Get the current thread's with
/// ``forCurrentThread()`` and drive it with ``waitFor(_:)`` or ``run()``, or start a
/// ``LoopThread`` that runs one. Tasks run on it with the standard API:
///
/// ```swift
/// let loop = try LoopThread()
/// let task = Task(executorPreference: loop.dispatcher) { await work() }
/// ```
///
/// Work arrives in two ways. The loop thread itself appends to a local queue with no lock
/// and no system call. Any other thread appends to a locked inbox and writes the wake
/// eventfd only when it is the first to flip the "wake pending" flag, which the loop clears
/// only right before it blocks: a busy loop costs its producers no system call.
///
/// A dispatcher shuts down when its thread ends (``LoopThread/shutdown()``, the release of
/// its last `LoopThread` reference, or the exit of a thread that called
/// ``forCurrentThread()``). One rule then holds for every kind of waiter:
///
/// - What only the loop could finish fails at once with ``LoopError/shutDown``: sleeps,
///   descriptor waits (``waitReadable(_:)``, ``waitWritable(_:)``), and later calls of them.
///   Scheduled closures never run: their ``Scheduled/state`` turns to
///   ``Scheduled/State/shutDown`` (at once for a `schedule` made after the shutdown).
/// - What another party finishes keeps waiting for that party: a task suspended in a
///   channel's or hatch's `receive()`, a bounded `send`, or ``ThreadSignal/wait()`` resumes
///   when the element, the room, the fire, the close or its cancellation comes, as it would
///   on a live loop. It then runs on the dispatcher's fallback queue.
/// - Work that still arrives — task jobs, actor jobs and ``execute(_:)`` closures — runs, in
///   the order it was posted and after the work that was pending at the shutdown, on that
///   serial fallback queue (tasks of the global concurrent executor, one batch at a time).
///   Actors and tasks bound to the dispatcher keep their isolation there; ``inLoop`` is
///   false there, because the loop thread is gone.
///
/// The dispatcher's two descriptors (epoll and the wake eventfd) stay open after the
/// shutdown, until the last reference to the dispatcher goes: any holder may still call
/// ``stop()`` or post work, and a closed number could by then name another file.
public final class Dispatcher: TaskExecutor, @unchecked Sendable {
    // Who may touch each stored property is written next to it:
    // - immutable: set in init, read from any thread;
    // - any thread: an atomic (the ordering is explained where it is used) or a lock;
    // - loop thread only: the thread that runs the loop (the one bound to it, see
    //   `isBoundToCurrentThread`), with no lock. After shutdown the fallback queue's drain
    //   stands in for that thread: it binds itself as the current dispatcher and runs one
    //   batch at a time, so loop-only state still has one user at a time. `@unchecked
    //   Sendable` rests on this rule.

    // MARK: Immutable

    let selector: PlatformSelector  // immutable; wake() from any thread, the rest loop thread only
    let serialExecutor: LoopSerialExecutor  // immutable; holds `self` unowned(unsafe)
    let fallback = FallbackQueue()  // immutable; used from any thread (its own lock)
    let name: String  // immutable

    // MARK: Cross-thread state

    /// Protected by its own lock (the "inbox lock"), any thread: work posted from other
    /// threads, and whether the dispatcher still accepts it.
    let inbox = LockedValue<Inbox>(Inbox())
    /// Any thread, atomic. Set (inside the inbox lock) when the inbox has work; lets the busy
    /// loop skip the lock. Release on set / acquire on the loop's read: the work appended
    /// before it is visible. Cleared relaxed inside the lock, which orders the clear against
    /// the next set.
    let inboxHasWork = Atomic<Bool>(false)
    /// Any thread, atomic. True while the loop is awake or a wake is already on its way.
    /// Producers wake the selector only when they flip it from false; the loop clears it right
    /// before it blocks, then re-checks the inbox under its lock (the lock orders the two
    /// sides, see `submitRemote` and `block`).
    let wakePending = Atomic<Bool>(true)
    /// Any thread, atomic (release by `stop()`, acquire when `run()` consumes it): a `stop()`
    /// that the current or next `run()` has not yet honoured.
    let stopRequested = Atomic<Bool>(false)
    /// Any thread, atomic. Set once, when the dispatcher shuts down, by the owning thread
    /// (acquire-release exchange); read with acquire by `isShutDown`.
    let shutDownFlag = Atomic<Bool>(false)
    /// Any thread, atomic (relaxed): cancelled timers still in the heap. `Scheduled.cancel()`
    /// adds, the loop thread subtracts and compacts the heap when they pile up; the count is
    /// only a heuristic, so no ordering is needed.
    let cancelledTimers = Atomic<Int>(0)

    /// Any thread, atomic (relaxed; a statistic): wakes written by producers.
    let eventfdWriteCount = Atomic<Int>(0)
    /// Written by the loop thread only, read from any thread (relaxed; a statistic).
    let epollWaitCount = Atomic<Int>(0)
    /// Written by the loop thread only, read from any thread (relaxed; a statistic).
    let jobsRunCount = Atomic<Int>(0)
    /// Written by the loop thread only, read from any thread (relaxed; a statistic): idle
    /// spins begun before blocking.
    let idleSpinCount = Atomic<Int>(0)
    /// Written by the loop thread only, read from any thread (relaxed; a statistic): time
    /// spent in idle spins, in nanoseconds.
    let idleSpinNanoseconds = Atomic<Int>(0)
    /// Any thread, atomic (relaxed): the encoded ``idlePolicy`` (`IdleSettings`). The loop
    /// reads it once per idle period; the policy is a value of its own that no other memory
    /// depends on, so a change needs no ordering and takes effect at the next idle period.
    let idlePolicyWord: Atomic<UInt64>

    // MARK: Loop-thread state (after shutdown: the fallback drain's, which is serial)

    /// Loop thread only: the work ready to run, in order. Unchecked exclusivity: only the
    /// loop thread (or the fallback drain, one at a time) touches it, so the dynamic
    /// exclusivity checks would only cost time.
    /// Created in init after the last step that can throw: the ring has no deinit (its
    /// owner frees it, here in deinit), so a failed init must not have made one.
    @exclusivity(unchecked) var local: RingBuffer<Work>
    /// Loop thread only: the array swapped with the inbox's on each drain, kept for its capacity.
    var spare: [Work] = []
    /// Loop thread only: scheduled closures and sleeps, by deadline.
    var timers = TimerHeap<Scheduled>()
    /// Loop thread only: the waiters of each descriptor that tasks wait on.
    var registrations: [Int32: Registration] = [:]
    /// Loop thread only: tasks waiting on descriptors now; while non-zero the loop audits them.
    var descriptorWaits = 0
    /// Loop thread only: the monotonic time of the next descriptor audit (0: not yet set).
    var nextDescriptorAudit: UInt64 = 0
    /// Loop thread only: whether `run()` or `waitFor(_:)` is running the loop.
    var isRunning = false
    /// Loop thread only: whether the running loop is a `run()`, the only one a `stop()` ends.
    /// While a `waitFor(_:)` runs, a pending stop neither ends the loop nor keeps it awake.
    var runHonoursStop = false
    /// Loop thread only: loop passes, to poll descriptors every 64 busy passes.
    var iterations = 0
    /// Loop thread only: how the recent idle spins ended, for the adaptive policy.
    var idleHistory = IdleHistory()
    /// Loop thread only: the policy the history was kept for (a new one starts it afresh).
    var idleHistoryPolicy: UInt64 = 0

    /// Work posted from other threads; lives inside `inbox`'s lock.
    struct Inbox {
        var work: [Work] = []
        var accepting = true
    }

    /// One unit of work for the loop.
    enum Work {
        /// A task job (`enqueue`), run with this dispatcher as its task executor.
        case task(UnownedJob)
        /// An actor job (`LoopSerialExecutor.enqueue`), run isolated to the serial executor.
        case actor(UnownedJob)
        /// An `execute(_:)` closure, or the dispatcher's own loop-thread errand.
        case closure(@Sendable () -> Void)
    }

    init(name: String, idlePolicy: IdlePolicy = .adaptive) throws(LoopError) {
        self.name = name
        self.idlePolicyWord = Atomic(idlePolicy.settings.rawValue)
        self.selector = try PlatformSelector()
        self.local = RingBuffer(minimumCapacity: 256)
        self.serialExecutor = LoopSerialExecutor()
        self.serialExecutor.dispatcher = self
    }

    deinit {
        // Closed here, not at shutdown: whoever can still call stop() or execute() holds a
        // reference, so the wake descriptor is open whenever it can be written.
        selector.close()
        local.releaseStorage()
    }

    // MARK: Thread binding

    /// The dispatcher bound to the calling thread, or nil when the thread has none.
    ///
    /// A loop thread is bound to its dispatcher; so is, while it runs, the fallback drain of
    /// a shut-down dispatcher. Costs one thread-local load. Callable from any thread.
    public static var current: Dispatcher? {
        guard let raw = cel_current_dispatcher() else { return nil }
        // The slot holds an unretained pointer to a dispatcher that its thread keeps alive
        // while it is bound (the LoopThread body, the retain taken in forCurrentThread, or
        // the fallback drain's reference), so taking it unretained and retaining it is sound.
        return Unmanaged<Dispatcher>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Returns the calling thread's dispatcher, creating and binding one on first use
    /// (chronos's `getThreadDispatcher`).
    ///
    /// A created dispatcher lives as long as its thread and shuts down when the thread exits.
    /// Drive it with ``waitFor(_:)`` or ``run()`` from this thread. Callable from any thread;
    /// on a loop thread it returns that loop's dispatcher.
    /// - Throws: ``LoopError`` with code `systemCall` when the epoll or eventfd descriptor
    ///   cannot be created (for example when the process is out of descriptors) or the
    ///   thread-exit hook cannot be registered (`pthread_setspecific`); no dispatcher is
    ///   bound then.
    public static func forCurrentThread() throws(LoopError) -> Dispatcher {
        if let current { return current }
        let dispatcher = try Dispatcher(name: "thread-dispatcher")
        // The thread keeps this +1 until it exits; the exit hook releases it.
        let retained = Unmanaged.passRetained(dispatcher)
        cel_set_current_dispatcher(retained.toOpaque())
        cel_set_thread_exit_hook { context in
            guard let context else { return }
            let dispatcher = Unmanaged<Dispatcher>.fromOpaque(context).takeRetainedValue()
            dispatcher.shutDownOnOwnThread()
        }
        let status = cel_register_thread_exit(retained.toOpaque())
        if status != 0 {
            cel_set_current_dispatcher(nil)
            retained.release()
            dispatcher.shutDownOnOwnThread()
            throw .system("pthread_setspecific", errno: status)
        }
        return dispatcher
    }

    /// Binds this dispatcher to the calling thread (LoopThread's body, before it runs the
    /// loop). Unretained: the body holds the dispatcher for as long as it runs.
    func bindToCurrentThread() {
        cel_set_current_dispatcher(Unmanaged.passUnretained(self).toOpaque())
    }

    /// True when the caller runs on this dispatcher's loop thread and the loop has not shut
    /// down.
    ///
    /// Once the dispatcher has shut down it is false everywhere, also on the fallback queue
    /// that runs the dispatcher's late work (actors and tasks bound to the dispatcher still
    /// pass their isolation checks there). Callable from any thread; costs one thread-local
    /// load and one atomic load.
    public var inLoop: Bool {
        isBoundToCurrentThread && !isShutDown
    }

    /// True when this thread's dispatcher slot names this dispatcher: on the loop thread
    /// until its shutdown unbinds it, and on the fallback drain that stands in for it after.
    /// Where this holds, loop-only state may be touched (one drain runs at a time). Any
    /// thread; one thread-local load.
    @inline(__always)
    var isBoundToCurrentThread: Bool {
        cel_current_dispatcher() == Unmanaged.passUnretained(self).toOpaque()
    }

    /// True once the dispatcher has shut down. Callable from any thread; acquiring, so a
    /// caller that sees true also sees everything the shutdown wrote before it.
    public var isShutDown: Bool { shutDownFlag.load(ordering: .acquiring) }

    // MARK: Counters

    /// Counts kept by a dispatcher, for tests and benchmarks. Each is a snapshot.
    public struct Counters: Sendable, Hashable {
        /// Writes to the wake eventfd made by producers on other threads and by ``stop()``.
        public var eventfdWrites: Int
        /// Calls to `epoll_wait` (blocking or polling) made by the loop.
        public var epollWaits: Int
        /// Jobs and closures the loop has run.
        public var jobsRun: Int
        /// Idle spins the loop began before it would block (see ``IdlePolicy``).
        public var idleSpins: Int
        /// The time the loop spent in those spins, in nanoseconds: each spin counts up to its
        /// planned end at most, since a loop that ran again only after that end (it gave its
        /// CPU to another thread, or was preempted) was not spinning meanwhile.
        public var idleSpinNanoseconds: Int
    }

    /// The dispatcher's counters now. Callable from any thread.
    public var counters: Counters {
        Counters(
            eventfdWrites: eventfdWriteCount.load(ordering: .relaxed),
            epollWaits: epollWaitCount.load(ordering: .relaxed),
            jobsRun: jobsRunCount.load(ordering: .relaxed),
            idleSpins: idleSpinCount.load(ordering: .relaxed),
            idleSpinNanoseconds: idleSpinNanoseconds.load(ordering: .relaxed)
        )
    }

    // MARK: Idle policy

    /// How the loop idles: whether it spins for work before it blocks in `epoll_wait`, and
    /// for how long (see ``IdlePolicy``). ``IdlePolicy/adaptive`` unless set otherwise.
    ///
    /// Readable and settable from any thread, at any time: the loop reads it (one relaxed
    /// atomic load) each time it runs out of work, so a new policy applies from the next idle
    /// period on; a spin under way ends under the old one. A new policy starts the loop's
    /// adaptive history afresh.
    public var idlePolicy: IdlePolicy {
        // Relaxed: see `idlePolicyWord`.
        get { IdlePolicy(settings: IdleSettings(rawValue: idlePolicyWord.load(ordering: .relaxed))) }
        set { idlePolicyWord.store(newValue.settings.rawValue, ordering: .relaxed) }
    }

    // MARK: Submitting work

    /// Posts a closure to run on the loop thread. Callable from any thread.
    ///
    /// Closures posted in a happens-before order run in that order. They share one FIFO
    /// with the loop's task and actor jobs: a closure posted after a task was resumed (or
    /// created) on this dispatcher runs after that task's next slice, and a long closure
    /// delays every task of the loop as a long synchronous stretch of a task would. Called on the loop
    /// thread it takes no lock and makes no system call; from another thread it takes the
    /// inbox lock and writes the wake eventfd only when the loop may be blocked.
    /// After shutdown the closure runs on the dispatcher's serial fallback queue instead.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    /// Any thread: the one entry for task jobs, actor jobs and closures. On the loop
    /// thread, the local queue; elsewhere (and after shutdown), the inbox.
    @inline(__always)
    func submit(_ work: Work) {
        if isBoundToCurrentThread && !isShutDownForLocal {
            // Something another thread posted earlier (happens-before) must run first.
            if inboxHasWork.load(ordering: .acquiring) { drainInbox() }
            local.append(work)
        } else {
            submitRemote(work)
        }
    }

    /// True once the loop thread may no longer use its local queue. Read where
    /// `isBoundToCurrentThread` holds:
    /// relaxed is enough, because the flag is set on the loop thread itself, and the
    /// fallback drain (the only other thread where it holds) starts after it was set.
    var isShutDownForLocal: Bool { shutDownFlag.load(ordering: .relaxed) }

    /// Any thread: appends to the inbox and wakes the loop if it may be blocked; after
    /// shutdown, hands the work to the fallback queue.
    func submitRemote(_ work: Work) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard inbox.accepting else { return false }
            inbox.work.append(work)
            // Release: the loop's acquire load of the flag sees the appended work.
            inboxHasWork.store(true, ordering: .releasing)
            return true
        }
        guard accepted else {
            fallback.submit(work, to: self)
            return
        }
        // Relaxed is enough for the pre-check: the inbox lock orders our append after the
        // loop's `store(false)` whenever the loop could have missed the append.
        if !wakePending.load(ordering: .relaxed),
            !wakePending.exchange(true, ordering: .acquiringAndReleasing)
        {
            eventfdWriteCount.wrappingAdd(1, ordering: .relaxed)
            selector.wake()
        }
    }

    /// Loop thread: moves the inbox's work to the end of the local queue, in order.
    /// The flag is cleared inside the lock, which orders the clear before the next set.
    func drainInbox() {
        inbox.withLock { inbox in
            swap(&inbox.work, &spare)
            inboxHasWork.store(false, ordering: .relaxed)
        }
        for work in spare { local.append(work) }
        spare.removeAll(keepingCapacity: true)
    }

    /// Loop thread (or the fallback drain, for actor jobs and closures): runs one unit of work.
    @inline(__always)
    func runWork(_ work: Work) {
        switch work {
        case .task(let job):
            job.runSynchronously(on: asUnownedTaskExecutor())
        case .actor(let job):
            job.runSynchronously(
                isolatedTo: serialExecutor.asUnownedSerialExecutor(),
                taskExecutor: asUnownedTaskExecutor()
            )
        case .closure(let closure):
            closure()
        }
    }

    // MARK: TaskExecutor

    /// Runs a task job on the loop thread; called by the Swift runtime.
    ///
    /// Callable from any thread; see ``execute(_:)`` for the cost on and off the loop.
    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.task(UnownedJob(job)))
    }

    /// The executor for actors that live on this loop: return it from an actor's
    /// `unownedExecutor`. The actor must keep a strong reference to the dispatcher.
    /// Callable from any thread.
    public var unownedSerialExecutor: UnownedSerialExecutor {
        serialExecutor.asUnownedSerialExecutor()
    }

    /// This dispatcher as a `SerialExecutor`, for APIs that take one (actors should use
    /// ``unownedSerialExecutor``). Callable from any thread.
    public var asSerialExecutor: any SerialExecutor { serialExecutor }
}

extension Dispatcher: Hashable {
    /// Whether `lhs` and `rhs` are the same dispatcher (identity: two dispatchers are never
    /// equal, whatever their names). Callable from any thread.
    public static func == (lhs: Dispatcher, rhs: Dispatcher) -> Bool {
        lhs === rhs
    }

    /// Hashes the dispatcher's identity, so that it can key a dictionary or fill a set (for
    /// state kept per loop of a ``LoopGroup``). Callable from any thread.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(self))
    }
}

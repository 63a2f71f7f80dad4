import CEventLoop
import Glibc
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
/// A dispatcher shuts down when its thread ends (``LoopThread/shutdown()``, or the exit of a
/// thread that called ``forCurrentThread()``). Then pending sleeps and descriptor waits
/// throw ``LoopError/shutDown``, scheduled closures are cancelled, and work that still
/// arrives — task jobs, actor jobs and ``execute(_:)`` closures — runs in order on a serial
/// fallback queue on the global concurrent executor, so that no task hangs.
public final class Dispatcher: TaskExecutor, @unchecked Sendable {
    // MARK: Immutable

    let selector: Selector
    let serialExecutor: LoopSerialExecutor  // holds `self` unowned(unsafe)
    let fallback = FallbackQueue()
    let name: String

    // MARK: Cross-thread state

    /// Work posted from other threads, and whether the dispatcher still accepts it.
    let inbox = LockedValue<Inbox>(Inbox())
    /// Set (inside the inbox lock) when the inbox has work; lets the busy loop skip the lock.
    /// Release on set / acquire on read: the work appended before it is visible.
    let inboxHasWork = Atomic<Bool>(false)
    /// True while the loop is awake or a wake write is already on its way. Producers write
    /// the eventfd only when they flip it from false; the loop clears it right before it
    /// blocks, then re-checks the inbox under its lock (the lock orders the two sides).
    let wakePending = Atomic<Bool>(true)
    /// A `stop()` that the current or next `run()` has not yet honoured.
    let stopRequested = Atomic<Bool>(false)
    /// Set once, when the dispatcher shuts down.
    let shutDownFlag = Atomic<Bool>(false)
    /// Cancelled timers still in the heap (loop thread compacts it when they pile up).
    let cancelledTimers = Atomic<Int>(0)

    let eventfdWriteCount = Atomic<Int>(0)
    let epollWaitCount = Atomic<Int>(0)  // written by the loop thread only
    let jobsRunCount = Atomic<Int>(0)  // written by the loop thread only

    // MARK: Loop-thread state (after shutdown: the fallback queue's, which is serial)

    /// Unchecked exclusivity: only the loop thread (or the fallback drain, one at a time) touches it.
    /// Created in init after the last step that can throw: the ring has no deinit (its
    /// owner frees it, here in deinit), so a failed init must not have made one.
    @exclusivity(unchecked) var local: RingBuffer<Work>
    var spare: [Work] = []
    var timers = TimerHeap<Scheduled>()
    var registrations: [Int32: Registration] = [:]
    /// Tasks waiting on descriptors now; while non-zero the loop audits them.
    var descriptorWaits = 0
    var nextDescriptorAudit: UInt64 = 0
    var isRunning = false
    var iterations = 0

    struct Inbox {
        var work: [Work] = []
        var accepting = true
    }

    enum Work {
        case task(UnownedJob)
        case actor(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    init(name: String) throws(LoopError) {
        self.name = name
        self.selector = try Selector()
        self.local = RingBuffer(minimumCapacity: 256)
        self.serialExecutor = LoopSerialExecutor()
        self.serialExecutor.dispatcher = self
    }

    deinit {
        // Closed here, not at shutdown: whoever can still call stop() or execute() holds a
        // reference, so the wake eventfd is open whenever it can be written.
        selector.close()
        local.releaseStorage()
    }

    // MARK: Thread binding

    /// The dispatcher bound to the calling thread, or nil when the thread has none.
    ///
    /// Costs one thread-local load. Callable from any thread.
    public static var current: Dispatcher? {
        guard let raw = cel_current_dispatcher() else { return nil }
        // The slot holds an unretained pointer to a dispatcher that its thread keeps alive
        // (the LoopThread body, or the retain taken in forCurrentThread) while it is bound.
        return Unmanaged<Dispatcher>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Returns the calling thread's dispatcher, creating and binding one on first use
    /// (chronos's `getThreadDispatcher`).
    ///
    /// A created dispatcher lives as long as its thread and shuts down when the thread exits.
    /// Drive it with ``waitFor(_:)`` or ``run()`` from this thread.
    /// - Throws: ``LoopError`` with code `systemCall` when the epoll or eventfd descriptor
    ///   cannot be created (for example when the process is out of descriptors).
    public static func forCurrentThread() throws -> Dispatcher {
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
            throw LoopError.system("pthread_setspecific", errno: status)
        }
        return dispatcher
    }

    /// Binds this dispatcher to the calling thread (LoopThread's body).
    func bindToCurrentThread() {
        cel_set_current_dispatcher(Unmanaged.passUnretained(self).toOpaque())
    }

    /// True when the caller runs on this dispatcher's thread.
    ///
    /// Callable from any thread; costs one thread-local load.
    public var inLoop: Bool {
        cel_current_dispatcher() == Unmanaged.passUnretained(self).toOpaque()
    }

    /// True once the dispatcher has shut down. Callable from any thread.
    public var isShutDown: Bool { shutDownFlag.load(ordering: .acquiring) }

    // MARK: Counters

    /// Counts kept by a dispatcher, for tests and benchmarks. Each is a snapshot.
    public struct Counters: Sendable, Hashable {
        /// Writes to the wake eventfd made by producers on other threads.
        public var eventfdWrites: Int
        /// Calls to `epoll_wait` (blocking or polling) made by the loop.
        public var epollWaits: Int
        /// Jobs and closures the loop has run.
        public var jobsRun: Int
    }

    /// The dispatcher's counters now. Callable from any thread.
    public var counters: Counters {
        Counters(
            eventfdWrites: eventfdWriteCount.load(ordering: .relaxed),
            epollWaits: epollWaitCount.load(ordering: .relaxed),
            jobsRun: jobsRunCount.load(ordering: .relaxed)
        )
    }

    // MARK: Submitting work

    /// Posts a closure to run on the loop thread. Callable from any thread.
    ///
    /// Closures posted in a happens-before order run in that order. Called on the loop
    /// thread it takes no lock and makes no system call; from another thread it takes the
    /// inbox lock and writes the wake eventfd only when the loop may be blocked.
    /// After shutdown the closure runs on the dispatcher's serial fallback queue instead.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    @inline(__always)
    func submit(_ work: Work) {
        if inLoop && !isShutDownForLocal {
            // Something another thread posted earlier (happens-before) must run first.
            if inboxHasWork.load(ordering: .acquiring) { drainInbox() }
            local.append(work)
        } else {
            submitRemote(work)
        }
    }

    /// True while the loop thread may still use its local queue (cleared at shutdown).
    var isShutDownForLocal: Bool { shutDownFlag.load(ordering: .relaxed) }

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
    func drainInbox() {
        inbox.withLock { inbox in
            swap(&inbox.work, &spare)
            inboxHasWork.store(false, ordering: .relaxed)
        }
        for work in spare { local.append(work) }
        spare.removeAll(keepingCapacity: true)
    }

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
    public var unownedSerialExecutor: UnownedSerialExecutor {
        serialExecutor.asUnownedSerialExecutor()
    }

    /// This dispatcher as a `SerialExecutor`, for APIs that take one (actors should use
    /// ``unownedSerialExecutor``).
    public var asSerialExecutor: any SerialExecutor { serialExecutor }
}

/// The serial executor of a dispatcher: a separate object so that the loop can tell actor
/// jobs from task jobs, which the runtime hands to the same `enqueue`.
final class LoopSerialExecutor: SerialExecutor, @unchecked Sendable {
    /// Set once in Dispatcher.init, before the object is shared. The dispatcher owns this
    /// executor and actors using it keep the dispatcher alive, so the reference is valid
    /// whenever a job can arrive.
    unowned(unsafe) var dispatcher: Dispatcher!

    func enqueue(_ job: consuming ExecutorJob) {
        dispatcher.submit(.actor(UnownedJob(job)))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func isSameExclusiveExecutionContext(other: LoopSerialExecutor) -> Bool {
        self === other
    }

    func checkIsolated() {
        precondition(
            dispatcher.inLoop,
            "expected to run on the loop thread of dispatcher '\(dispatcher.name)', but runs elsewhere"
        )
    }

    func isIsolatingCurrentContext() -> Bool? {
        dispatcher.inLoop
    }
}

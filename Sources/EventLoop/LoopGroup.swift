import LoopUtilities
import Synchronization

/// A fixed group of ``LoopThread``s that share a server's work: accept connections on one,
/// spread them over all with ``next()``.
///
/// ```swift
/// let group = try LoopGroup(loops: 4, name: "io")
/// defer { group.shutdown() }
/// let dispatcher = group.next()  // round robin over the loops
/// let value = await Task(executorPreference: dispatcher) { 42 }.value
/// ```
///
/// SwiftNIO's `MultiThreadedEventLoopGroup` plays the same part. The group picks loops in
/// turn, with one relaxed atomic increment and no lock; it never looks at how busy a loop
/// is. Releasing the last reference shuts the group down as ``shutdown()`` does. Sendable:
/// use it from any thread.
public final class LoopGroup: Sendable {
    /// The default number of loops: the CPUs this process may run on, counted in the
    /// calling thread's affinity mask (`sched_getaffinity`, so `taskset` and a container's
    /// CPU set count), at least 1. One loop per CPU keeps every CPU busy without two loops
    /// fighting for one. Read from any thread; each read asks the kernel once.
    public static var defaultLoopCount: Int { availableCPUCount() }

    /// The loops' dispatchers, in the order ``next()`` hands them out. Immutable; read it
    /// from any thread. Never empty.
    public let dispatchers: [Dispatcher]
    /// The loop threads, one per dispatcher; immutable.
    private let loops: [LoopThread]
    /// Any thread, atomic (relaxed): the number of `next()` calls so far. Only spreads work;
    /// it orders nothing, since the dispatchers are immutable and were published by init.
    private let turns = Atomic<UInt>(0)
    /// Any thread, atomic (relaxed: it only elects the one caller that shuts the loops
    /// down; each `LoopThread.shutdown()` orders its own thread's end).
    private let shutDownStarted = Atomic<Bool>(false)

    /// Starts `loops` loop threads named `name-0`, `name-1`, … Callable from any thread.
    /// - Parameters:
    ///   - loops: how many loops to start; at least 1. The default is
    ///     ``defaultLoopCount``, one per CPU the process may use.
    ///   - name: the prefix of the threads' names. The kernel keeps 15 bytes of a thread's
    ///     name, so a long prefix is cut to leave room for the index.
    ///   - idlePolicy: how each loop idles when it runs out of work (see ``IdlePolicy``);
    ///     ``IdlePolicy/adaptive`` by default. Change one loop's later with
    ///     ``Dispatcher/idlePolicy``.
    /// - Throws: ``LoopError/invalidLoopCount`` when `loops` is below 1; ``LoopError`` with
    ///   code `systemCall` when a loop's descriptors or thread cannot be created. The loops
    ///   started before the failure are shut down first.
    public init(
        loops: Int = LoopGroup.defaultLoopCount,
        name: String = "loop",
        idlePolicy: IdlePolicy = .adaptive
    ) throws(LoopError) {
        guard loops >= 1 else { throw .invalidLoopCount }
        var started: [LoopThread] = []
        started.reserveCapacity(loops)
        do {
            for index in 0..<loops {
                started.append(try LoopThread(name: numberedThreadName(name, index), idlePolicy: idlePolicy))
            }
        } catch {
            for loop in started { loop.shutdown() }
            throw error
        }
        self.loops = started
        self.dispatchers = started.map(\.dispatcher)
    }

    deinit {
        shutdown()
    }

    /// The dispatcher whose turn it is: the loops in order, round robin. Callable from any
    /// thread; never blocks. After ``shutdown()`` it still returns dispatchers, which are
    /// shut down (see ``Dispatcher`` for what work posted to one then does).
    /// - Returns: one of ``dispatchers``.
    public func next() -> Dispatcher {
        // Relaxed: see `turns`. Wrapping: UInt overflow after 2^64 calls just starts over.
        let turn = turns.wrappingAdd(1, ordering: .relaxed).oldValue
        return dispatchers[Int(turn % UInt(dispatchers.count))]
    }

    /// Stops every loop and waits for their threads to end; idempotent, callable from any
    /// thread, including a task or closure running on one of the group's own loops.
    ///
    /// Only the first call does the work; a later or concurrent call returns at once. On one
    /// of the group's loops it cannot wait for its own thread: that loop stops after the
    /// current job and its thread is detached (as ``LoopThread/shutdown()`` does there),
    /// while the other loops are stopped and joined. After it, the dispatchers are shut down:
    /// see ``Dispatcher`` for what pending and late work does.
    public func shutdown() {
        guard !shutDownStarted.exchange(true, ordering: .relaxed) else { return }
        // Ask every loop to stop first, so that they wind down together, then join each.
        for dispatcher in dispatchers { dispatcher.stop() }
        for loop in loops { loop.shutdown() }
    }

    /// Stops every loop and waits, suspended, for their threads to end: ``shutdown()`` for a
    /// task, which must not block its executor's thread meanwhile. Idempotent with
    /// ``shutdown()``: only the first call of either waits; a later one returns at once.
    /// Callable from any task, including one on the group's own loops (that loop stops after
    /// the current job and its thread is detached, as ``shutdown()`` does there).
    ///
    /// Cancellation does not interrupt it: the loops are already asked to stop, and the call
    /// returns once their threads have ended.
    public func shutdownGracefully() async {
        guard !shutDownStarted.exchange(true, ordering: .relaxed) else { return }
        for dispatcher in dispatchers { dispatcher.stop() }
        for loop in loops { await loop.shutdownGracefully() }
    }
}

import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

@testable import LoopThreadPool

@Suite("ThreadPool shutdown and lifetime", .stressTimeLimit)
struct ThreadPoolShutdownTests {
    /// Whether the pool has begun shutting down (it accepts nothing more).
    private func isStopping(_ pool: ThreadPool) -> Bool {
        pool.core.state.withLock { !$0.accepting }
    }

    /// A pool of one thread held by a first job, with `count` callers queued behind it.
    private func heldPool(
        _ name: String, queued count: Int
    ) async throws -> (ThreadPool, Gate, Task<Int, any Error>, [Task<Int, any Error>]) {
        let pool = try ThreadPool(threads: 1, name: name)
        let gate = Gate()
        let started = Counter()
        let blocker = Task {
            try await pool.run {
                started.store(1)
                gate.wait()
                return -1
            }
        }
        await waitUntil("the first job to hold the only worker") { started.value == 1 }
        let callers = (0..<count).map { index in Task { try await pool.run { index } } }
        await waitUntil("\(count) queued jobs") { pool.queuedJobCount == count }
        return (pool, gate, blocker, callers)
    }

    @Test func aGracefulShutdownRunsTheQueuedJobsThenJoins() async throws {
        let (pool, gate, blocker, callers) = try await heldPool("tp-graceful", queued: 5)
        let returned = Counter()
        let stopper = PlainThread {
            pool.shutdown()
            returned.store(1)
        }
        await waitUntil("the shutdown to begin") { isStopping(pool) }
        #expect(returned.value == 0)  // it waits for the held job and the queue
        await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
        #expect(throws: ThreadPoolError.shutDown) { try pool.submit {} }
        gate.open()
        #expect(try await blocker.value == -1)
        for (index, caller) in callers.enumerated() { #expect(try await caller.value == index) }
        await stopper.join()
        #expect(returned.value == 1)
        await waitUntil("the tp-graceful threads to end") { !aThreadIsNamed("tp-graceful") }
    }

    /// The async shutdown waits for the queued jobs without blocking its executor: a task on
    /// the same single loop thread runs meanwhile and is what lets the held job finish.
    @Test func anAsyncGracefulShutdownWaitsSuspendedForTheQueuedJobs() async throws {
        let (pool, gate, blocker, callers) = try await heldPool("tp-async", queued: 5)
        let loop = try LoopThread(name: "tpa-loop")
        defer { loop.shutdown() }
        let returned = Counter()
        let stopper = Task(executorPreference: loop.dispatcher) {
            await pool.shutdownGracefully()
            returned.store(1)
        }
        await waitUntil("the shutdown to begin") { isStopping(pool) }
        // The loop's only thread is free while the shutdown waits: this task runs on it.
        await Task(executorPreference: loop.dispatcher) {
            #expect(returned.value == 0)
            await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
            gate.open()
        }.value
        await stopper.value
        #expect(returned.value == 1)
        #expect(try await blocker.value == -1)
        for (index, caller) in callers.enumerated() { #expect(try await caller.value == index) }
        await waitUntil("the kernel to reap the tp-async threads") { !aThreadIsNamed("tp-async") }
        await pool.shutdownGracefully()  // idempotent, returns at once
        pool.shutdown()
    }

    @Test func anImmediateShutdownFailsTheQueuedCallersAndDropsSubmittedJobs() async throws {
        let (pool, gate, blocker, callers) = try await heldPool("tp-now", queued: 5)
        let submittedRan = Counter()
        for _ in 0..<3 { try pool.submit { submittedRan.add() } }
        let stopper = PlainThread { pool.shutdownNow() }
        // The queued callers resume at once, while the held job still runs.
        for caller in callers {
            await #expect(throws: ThreadPoolError.shutDown) { try await caller.value }
        }
        gate.open()
        #expect(try await blocker.value == -1)
        await stopper.join()
        #expect(submittedRan.value == 0)
        #expect(pool.queuedJobCount == 0)
        await waitUntil("the tp-now threads to end") { !aThreadIsNamed("tp-now") }
        await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
    }

    @Test func shutdownIsIdempotentAndLaterCallsThrow() async throws {
        let pool = try ThreadPool(threads: 2, name: "tp-idem")
        #expect(try await pool.run { 1 } == 1)
        pool.shutdown()
        pool.shutdown()
        pool.shutdownNow()
        await waitUntil("the tp-idem threads to end") { !aThreadIsNamed("tp-idem") }
        await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
        #expect(throws: ThreadPoolError.shutDown) { try pool.submit {} }
        #expect(ThreadPoolError.shutDown.description.contains("shut down"))

        let other = try ThreadPool(threads: 1, name: "tp-idem-now")
        other.shutdownNow()
        other.shutdown()
        await #expect(throws: ThreadPoolError.shutDown) { try await other.run { 0 } }
    }

    /// The threads hold the queue, not the pool: dropping the last reference shuts it down,
    /// lets the queued jobs run, and ends the threads.
    @Test func droppingThePoolEndsItsThreadsAfterTheQueuedJobs() async throws {
        let released = Counter()
        weak var weakPool: ThreadPool?
        do {
            let pool = try ThreadPool(threads: 3, name: "tp-drop")
            weakPool = pool
            #expect(try await pool.run { 1 } == 1)
            try pool.submit { _ = Tracked(0, released: released) }
        }
        #expect(weakPool == nil)
        #expect(released.value == 1)  // the queued job ran before the threads were joined
        await waitUntil("the dropped pool's threads to end") { !aThreadIsNamed("tp-drop") }

        // Held by a job when the last reference goes: the release blocks until the queue ran.
        let gate = Gate()
        let started = Counter()
        let ran = Counter()
        let holder = LockedValue<ThreadPool?>(try ThreadPool(threads: 1, name: "tp-drop-held"))
        try holder.withLock { pool in
            try pool!.submit {
                started.store(1)
                gate.wait()
            }
            for _ in 0..<3 { try pool!.submit { ran.add() } }
        }
        await waitUntil("the held job to start") { started.value == 1 }
        let dropper = PlainThread { holder.withLock { $0 = nil } }
        gate.open()
        await dropper.join()
        #expect(ran.value == 3)
        await waitUntil("the tp-drop-held threads to end") { !aThreadIsNamed("tp-drop-held") }
    }

    /// From one of its own threads the pool cannot join itself: `shutdown()` inside a job,
    /// and the release of the last reference inside a job, return, and the threads end.
    @Test func shuttingDownFromAWorkerDoesNotDeadlock() async throws {
        let pool = try ThreadPool(threads: 2, name: "tp-inside")
        let done = Counter()
        try pool.submit {
            pool.shutdown()
            done.store(1)
        }
        await waitUntil("the shutdown inside a job to return") { done.value == 1 }
        await waitUntil("the pool's threads to end") { !aThreadIsNamed("tp-inside") }
        pool.shutdown()  // already shut down: returns at once

        let holder = LockedValue<ThreadPool?>(try ThreadPool(threads: 2, name: "tp-inside-rel"))
        let dropped = Counter()
        try holder.withLock { pool in
            try pool!.submit {
                holder.withLock { $0 = nil }
                dropped.store(1)
            }
        }
        await waitUntil("the last release inside a job to return") { dropped.value == 1 }
        await waitUntil("the released pool's threads to end") { !aThreadIsNamed("tp-inside-rel") }
    }
}

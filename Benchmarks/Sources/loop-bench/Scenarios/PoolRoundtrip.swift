import AsyncChannels
import Dispatch
import EventLoop
import LoopThreadPool
import NIOPosix

extension Scenario {
    /// The threads of every pool in the pool scenarios: one per vCPU of the benchmark
    /// machine (2). The `DispatchQueue` and `Task.detached` peers run on libdispatch's and
    /// the Swift runtime's own pools, whose width is the CPU count too.
    static let poolThreads = 2

    /// One job at a time from a loop task to a pool thread and its result back: latency.
    static func poolRoundtrip(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "pool-roundtrip",
            summary:
                "one job from a task on a loop to a pool thread (2 threads) and its result back, one at a time",
            operations: 40_000,
            quickOperations: 2_000,
            reference: "NIOThreadPool",
            implementations: poolImplementations(environment, callers: 1)
        )
    }

    /// 64 tasks on one loop, each running jobs one after another: throughput.
    static func poolRoundtrip64(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "pool-roundtrip-64",
            summary:
                "one job of 64 concurrent callers (tasks on one loop, each running jobs in a loop) on a pool of 2 threads; wall time per job",
            operations: 128_000,
            quickOperations: 6_400,
            reference: "NIOThreadPool",
            implementations: poolImplementations(environment, callers: 64)
        )
    }

    private static func poolImplementations(_ environment: BenchEnvironment, callers: Int) -> [Implementation] {
        [
            .threadPoolRoundtrip(environment, callers: callers),
            .nioThreadPoolRoundtrip(environment, callers: callers),
            .dispatchQueueRoundtrip(environment, callers: callers),
            .taskDetachedRoundtrip(environment, callers: callers),
            .channelFloorRoundtrip(environment, callers: callers),
        ]
    }
}

/// The job of the pool scenarios: trivial work whose result the caller sums and checks, so
/// that nothing is optimized away. Its closure captures the job's number, as most jobs
/// capture their input: one allocation for its context wherever a closure escapes.
@inline(never)
func poolWork(_ job: Int) -> Int {
    job &* 3 &+ 1
}

extension Implementation {
    /// `ThreadPool` (ours): `pool.run { … }`.
    static func threadPoolRoundtrip(_ environment: BenchEnvironment, callers: Int) -> Implementation {
        Implementation("ThreadPool", syscalls: .dispatcherCounters) { context in
            let pool = try ThreadPool(threads: Scenario.poolThreads, name: "bench-pool")
            defer { pool.shutdown() }
            try runPoolRoundtrips(context, environment, callers: callers) { _, job in
                try await pool.run { poolWork(job) }
            }
        }
    }

    /// `NIOThreadPool`: swift-nio's pool and its async `runIfActive`.
    static func nioThreadPoolRoundtrip(_ environment: BenchEnvironment, callers: Int) -> Implementation {
        Implementation("NIOThreadPool") { context in
            let pool = NIOThreadPool(numberOfThreads: Scenario.poolThreads)
            pool.start()
            defer { try? pool.syncShutdownGracefully() }
            try runPoolRoundtrips(context, environment, callers: callers) { _, job in
                try await pool.runIfActive { poolWork(job) }
            }
        }
    }

    /// `DispatchQueue+CheckedContinuation`: a concurrent queue, each job resuming a checked
    /// continuation with its result.
    static func dispatchQueueRoundtrip(_ environment: BenchEnvironment, callers: Int) -> Implementation {
        Implementation(
            "DispatchQueue+CheckedContinuation",
            note:
                "DispatchQueue+CheckedContinuation: a concurrent DispatchQueue (libdispatch's pool, as wide as the CPUs) "
                + "and withCheckedThrowingContinuation"
        ) { context in
            let queue = DispatchQueue(label: "bench-pool", attributes: .concurrent)
            try runPoolRoundtrips(context, environment, callers: callers) { _, job in
                try await withCheckedThrowingContinuation { continuation in
                    queue.async { continuation.resume(returning: poolWork(job)) }
                }
            }
        }
    }

    /// `Task.detached`: a detached task on the global concurrent executor, awaited.
    static func taskDetachedRoundtrip(_ environment: BenchEnvironment, callers: Int) -> Implementation {
        Implementation(
            "Task.detached",
            note: "Task.detached: `await Task.detached { work() }.value`, on the global concurrent executor"
        ) { context in
            try runPoolRoundtrips(context, environment, callers: callers) { _, job in
                await Task.detached { poolWork(job) }.value
            }
        }
    }

    /// `AsyncChannel-floor`: no pool and no queue lock: `poolThreads` plain threads each
    /// loop on `receiveSync()` of one request channel (a brief spin, then a park) and send
    /// the result to the caller's own reply channel, which the caller awaits. The library's
    /// own cross-thread round trip between a loop task and an awake plain thread: what any
    /// pool built on these primitives pays at least.
    static func channelFloorRoundtrip(_ environment: BenchEnvironment, callers: Int) -> Implementation {
        Implementation(
            "AsyncChannel-floor",
            note:
                "AsyncChannel-floor: 2 plain threads looping receiveSync() on one request channel, each reply sent "
                + "to the caller's own channel; no pool, the floor of a hand-off with the library's primitives",
            syscalls: .dispatcherCounters
        ) { context in
            let requests = AsyncChannels.AsyncChannel<Int>()
            let replies = (0..<callers).map { _ in AsyncChannels.AsyncChannel<Int>() }
            // A request is the caller's index above bit 40 and the job's number below it.
            let threads = (0..<Scenario.poolThreads).map { _ in
                PlainThread {
                    while let request = try? requests.receiveSync() {
                        try? replies[request >> 40].send(poolWork(request & (1 << 40 - 1)))
                    }
                }
            }
            defer {
                requests.close()  // the threads' receiveSync throws, and they end
                for thread in threads { thread.join() }
            }
            try runPoolRoundtrips(context, environment, callers: callers) { caller, job in
                try requests.send(caller << 40 | job)
                return try await replies[caller].receive()
            }
        }
    }

    /// Runs ``RunContext/operations`` jobs through `call` from `callers` tasks on our first
    /// loop, each task calling it (with its index) for its share of the jobs one after
    /// another, and checks
    /// that every job's result came back.
    @inline(__always)
    static func runPoolRoundtrips(
        _ context: RunContext,
        _ environment: BenchEnvironment,
        callers: Int,
        call: nonisolated(nonsending) @escaping @Sendable (_ caller: Int, _ job: Int) async throws -> Int
    ) throws {
        let jobs = context.operations
        precondition(jobs % callers == 0 || callers == 1, "the jobs must split evenly among the callers")
        let perCaller = jobs / callers
        let done = Completion()
        let sums = Confined([Int](repeating: 0, count: callers))
        try context.measure {
            for caller in 0..<callers {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        var sum = 0
                        for job in caller * perCaller..<(caller + 1) * perCaller { sum &+= try await call(caller, job) }
                        sums.value[caller] = sum
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
            }
            try done.wait(parts: callers)
        }
        // Σ (3j + 1) over j in 0..<jobs.
        let expected = 3 * (jobs * (jobs - 1) / 2) + jobs
        try BenchError.check(
            sums.value.reduce(0, &+) == expected, "the results sum to \(sums.value.reduce(0, &+)), expected \(expected)"
        )
    }
}

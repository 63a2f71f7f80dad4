import LoopTestSupport
import LoopUtilities
import Testing

@testable import LoopThreadPool

@Suite("ThreadPool cancellation", .stressTimeLimit)
struct ThreadPoolCancellationTests {
    /// A pool of one thread held by a first job: the jobs queued behind it are cancelled,
    /// their callers throw `CancellationError`, and the jobs never run, not even after the
    /// worker is free again (a later job, which would start after them, finishes first).
    @Test func aJobCancelledBeforeItStartsNeverRuns() async throws {
        let pool = try ThreadPool(threads: 1, name: "tp-cancel")
        defer { pool.shutdown() }
        let gate = Gate()
        let started = Counter()
        let blocker = Task {
            try await pool.run {
                started.store(1)
                gate.wait()
                return 1
            }
        }
        await waitUntil("the first job to hold the only worker") { started.value == 1 }
        let ran = Counter()
        let callers = (0..<10).map { _ in
            Task { try await pool.run { ran.add() } }
        }
        await waitUntil("ten queued jobs") { pool.queuedJobCount == 10 }
        for caller in callers { caller.cancel() }
        for caller in callers {
            await #expect(throws: CancellationError.self) { try await caller.value }
        }
        #expect(pool.queuedJobCount == 0)
        gate.open()
        #expect(try await blocker.value == 1)
        #expect(try await pool.run { 2 } == 2)
        #expect(ran.value == 0)
    }

    /// A task cancelled before it calls `run` never hands its job to the pool, even an idle one.
    @Test func aCallerAlreadyCancelledNeverRunsItsJob() async throws {
        let pool = try ThreadPool(threads: 2, name: "tp-precancel")
        defer { pool.shutdown() }
        let ran = Counter()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.run { ran.add() }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try await pool.run { 1 } == 1)
        #expect(ran.value == 0)
    }

    /// A job that has started runs to its end when its caller is cancelled; the caller gets
    /// the result, and the result is released once the caller drops it.
    @Test func aJobCancelledAfterItStartedRunsToTheEndAndItsResultIsReleased() async throws {
        let pool = try ThreadPool(threads: 1, name: "tp-started")
        defer { pool.shutdown() }
        let gate = Gate()
        let started = Counter()
        let finished = Counter()
        let released = Counter()
        let task = Task { () throws -> (Int, Bool) in
            let result = try await pool.run {
                started.store(1)
                gate.wait()
                finished.store(1)
                return Tracked(9, released: released)
            }
            return (result.value, Task.isCancelled)
        }
        await waitUntil("the job to start") { started.value == 1 }
        task.cancel()
        gate.open()
        let (value, wasCancelled) = try await task.value
        #expect(value == 9)
        #expect(wasCancelled)
        #expect(finished.value == 1)
        await waitUntil("the result to be released") { released.value == 1 }
    }

    /// Thousands of callers, a random half cancelled while the workers start jobs: each job
    /// either ran exactly once and its caller got its result, or never ran and its caller
    /// threw `CancellationError`.
    @Test(.heavyStress, .stressTimeLimit)
    func randomCancellationsRaceWithJobStarts() async throws {
        for seed in reliabilitySeeds(1) {
            var random = SeededRandom(seed: seed)
            let pool = try ThreadPool(threads: 2, name: "tp-race")
            let count = 2_000 * stressFactor
            let runs = (0..<count).map { _ in Counter() }
            var tasks: [Task<Int, any Error>] = []
            tasks.reserveCapacity(count)
            for index in 0..<count {
                tasks.append(
                    Task {
                        try await pool.run {
                            runs[index].add()
                            return index
                        }
                    })
                // Cancel a random recent caller: it may be queued, starting or finished.
                if random.oneIn(2) {
                    let victim = index - Int(random.next() % UInt64(min(index + 1, 8)))
                    tasks[victim].cancel()
                }
            }
            var returned = 0
            var cancelled = 0
            var broken: [String] = []
            for (index, task) in tasks.enumerated() {
                switch await task.result {
                case .success(let value):
                    returned += 1
                    if value != index || runs[index].value != 1 {
                        broken.append("job \(index): got \(value), ran \(runs[index].value) times")
                    }
                case .failure(let error) where error is CancellationError:
                    cancelled += 1
                    if runs[index].value != 0 { broken.append("job \(index): cancelled but ran") }
                case .failure(let error):
                    broken.append("job \(index): \(error)")
                }
            }
            // A job that was cancelled must not run later either.
            pool.shutdown()
            let ranLate = tasks.indices.filter { runs[$0].value > 1 }.count
            #expect(broken.isEmpty, "\(broken.prefix(5)) \(replayHint(seed))")
            #expect(ranLate == 0, "\(replayHint(seed))")
            #expect(returned + cancelled == count)
            // Both outcomes happened, so the race was exercised: about one caller in eight is
            // cancelled right after it was made, long before a worker can take its job.
            #expect(returned > 0 && cancelled > 0, "returned \(returned), cancelled \(cancelled)")
            #expect(runs.reduce(0) { $0 + $1.value } == returned, "\(replayHint(seed))")
        }
    }
}

import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

@testable import LoopThreadPool

@Suite("ThreadPool behaviour", .stressTimeLimit)
struct ThreadPoolTests {
    @Test func runReturnsTheWorksValueAndRethrowsItsError() async throws {
        let pool = try ThreadPool(threads: 2, name: "tp-basic")
        defer { pool.shutdown() }
        #expect(try await pool.run { 6 * 7 } == 42)
        #expect(try await pool.run { "text" } == "text")
        await #expect(throws: Boom(code: 3)) { try await pool.run { () throws -> Int in throw Boom(code: 3) } }
        // The pool still works after a job threw.
        #expect(try await pool.run { 1 } == 1)
    }

    @Test func theWorkersWaitUnderThePoolsIdlePolicy() async throws {
        for policy in [IdlePolicy.adaptive, .never, .spin(for: .microseconds(5))] {
            let pool = try ThreadPool(threads: 2, name: "tp-idle", idlePolicy: policy)
            defer { pool.shutdown() }
            // Each job runs on a worker whose own policy is the pool's.
            for _ in 0..<20 {
                #expect(try await pool.run { IdlePolicy.currentThread } == policy)
            }
        }
        let pool = try ThreadPool(threads: 1, name: "tp-default")
        defer { pool.shutdown() }
        #expect(try await pool.run { IdlePolicy.currentThread } == .adaptive)
    }

    @Test func theWorkRunsOnAWorkerThreadNamedAfterThePool() async throws {
        let pool = try ThreadPool(threads: 3, name: "tp-names")
        defer { pool.shutdown() }
        #expect(pool.threadCount == 3)
        // Each thread names itself as it starts.
        await waitUntil("the three workers to be named") {
            let names = processThreadNames()
            return (0..<3).allSatisfy { names.contains("tp-names-\($0)") }
        }
        let onWorker = try await pool.run { pool.threads.contains { $0.isCurrent } }
        #expect(onWorker)

        // A long prefix is cut so that the index survives the kernel's 15 bytes.
        let long = try ThreadPool(threads: 1, name: "a-very-long-pool-name")
        defer { long.shutdown() }
        await waitUntil("the long-named worker") { processThreadNames().contains("a-very-long-p-0") }
    }

    @Test func invalidSizesThrowClearErrors() {
        #expect(throws: ThreadPoolError.invalidThreadCount) { try ThreadPool(threads: 0) }
        #expect(throws: ThreadPoolError.invalidThreadCount) { try ThreadPool(threads: -1) }
        #expect(throws: ThreadPoolError.invalidQueueLimit) { try ThreadPool(threads: 1, maxQueuedJobs: 0) }
        #expect(ThreadPoolError.invalidThreadCount.description.contains("at least one thread"))
    }

    @Test func callersOnALoopTheGlobalExecutorAndAnActorResumeWhereTheyWere() async throws {
        let pool = try ThreadPool(threads: 2, name: "tp-callers")
        defer { pool.shutdown() }
        let loop = try LoopThread(name: "tp-caller-loop")
        defer { loop.shutdown() }

        let (value, backOnLoop) = try await Task(executorPreference: loop.dispatcher) {
            let value = try await pool.run { 7 }
            return (value, loop.dispatcher.inLoop)
        }.value
        #expect(value == 7)
        #expect(backOnLoop)

        let detached = try await Task.detached { try await pool.run { 8 } }.value
        #expect(detached == 8)

        let tally = Tally()
        for _ in 0..<10 { try await tally.add(from: pool) }
        #expect(await tally.total == 50)
    }

    @Test func manyConcurrentCallersEachGetTheirOwnReply() async throws {
        let pool = try ThreadPool(threads: 3, name: "tp-many")
        defer { pool.shutdown() }
        let loop = try LoopThread(name: "tp-many-loop")
        defer { loop.shutdown() }
        let callers = 500 * min(stressFactor, 20)
        let wrong = Counter()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<callers {
                // Half on the global executor, half on a loop.
                if index.isMultiple(of: 2) {
                    group.addTask {
                        if (try? await pool.run { index &* 3 }) != index &* 3 { wrong.add() }
                    }
                } else {
                    group.addTask(executorPreference: loop.dispatcher) {
                        if (try? await pool.run { index &* 3 }) != index &* 3 { wrong.add() }
                    }
                }
            }
        }
        #expect(wrong.value == 0)
        #expect(pool.queuedJobCount == 0)
    }

    @Test func submitRunsFireAndForgetWork() async throws {
        let pool = try ThreadPool(threads: 2, name: "tp-submit")
        defer { pool.shutdown() }
        let ran = Counter()
        for _ in 0..<100 { try pool.submit { ran.add() } }
        await waitUntil("every submitted job to run") { ran.value == 100 }
    }

    @Test func aBoundedQueueKeepsRunCallersWaitingForRoomAndRefusesSubmit() async throws {
        let pool = try ThreadPool(threads: 1, maxQueuedJobs: 2, name: "tp-bounded")
        defer { pool.shutdown() }
        #expect(pool.maxQueuedJobs == 2)
        let gate = Gate()
        let started = Counter()
        let order = LockedValue<[Int]>([])
        let blocker = Task {
            try await pool.run {
                started.store(1)
                gate.wait()
            }
        }
        await waitUntil("the first job to hold the only worker") { started.value == 1 }
        let first = Task { try await pool.run { order.withLock { $0.append(1) } } }
        await waitUntil("one queued job") { pool.queuedJobCount == 1 }
        try pool.submit { order.withLock { $0.append(2) } }
        #expect(pool.queuedJobCount == 2)
        // Full: submit fails at once, run waits for room.
        #expect(throws: ThreadPoolError.queueFull) { try pool.submit {} }
        let waiting = Task { try await pool.run { order.withLock { $0.append(3) } } }
        await waitUntil("the third caller to wait for room") { pool.waitingForRoomCount == 1 }
        #expect(pool.queuedJobCount == 3)
        gate.open()
        try await blocker.value
        try await first.value
        try await waiting.value
        #expect(order.withLock { $0 } == [1, 2, 3])
        // Room again.
        try pool.submit {}
    }
}

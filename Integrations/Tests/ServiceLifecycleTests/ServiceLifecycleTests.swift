import Glibc
import Logging
import LoopChannels
import ServiceLifecycle
import Testing

/// `LoopThread`, `LoopGroup` and `ThreadPool` as swift-service-lifecycle services (the
/// package trait `ServiceLifecycle`): run in a real `ServiceGroup`, stopped by its graceful
/// shutdown, by a Unix signal, and by cancellation.
@Suite struct ServiceLifecycleTests {
    private let logger = Logger(label: "loopchannels.tests")

    /// The three services, each of its own kind (a server would list itself after them: a
    /// service group shuts down in reverse order, the last listed first).
    private func services(_ name: String) throws -> (LoopThread, LoopGroup, ThreadPool) {
        (
            try LoopThread(name: "\(name)-lt"), try LoopGroup(loops: 2, name: "\(name)-lg"),
            try ThreadPool(threads: 2, name: "\(name)-tp")
        )
    }

    /// Whether every loop of the three has stopped its thread (set at the end of the body).
    private func allShutDown(_ loop: LoopThread, _ group: LoopGroup) -> Bool {
        loop.dispatcher.isShutDown && group.dispatchers.allSatisfy(\.isShutDown)
    }

    @Test func aGracefulShutdownStopsEveryServiceAndRunReturns() async throws {
        let (loop, group, pool) = try services("svc-grace")
        let serviceGroup = ServiceGroup(services: [loop, group, pool], logger: logger)
        let running = Task { try await serviceGroup.run() }

        // The services work while the group runs: a task on a group loop uses the pool.
        let answer = try await Task(executorPreference: group.next()) {
            try await pool.run { 6 * 7 }
        }.value
        #expect(answer == 42)

        await serviceGroup.triggerGracefulShutdown()
        try await running.value
        #expect(allShutDown(loop, group))
        await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
    }

    /// The pool's graceful shutdown lets the jobs already queued run: the group's `run()`
    /// returns only after they have, and each caller gets its result.
    @Test func queuedJobsRunBeforeThePoolsServiceReturns() async throws {
        let pool = try ThreadPool(threads: 1, name: "svc-queue")
        let serviceGroup = ServiceGroup(services: [pool], logger: logger)
        let running = Task { try await serviceGroup.run() }
        let release = try ThreadSignal()
        let started = try ThreadSignal()
        let held = Task {
            try await pool.run {
                started.fire()
                _ = release.waitSync(timeout: nil)
                return -1
            }
        }
        try await started.wait()
        let queued = (0..<5).map { index in Task { try await pool.run { index } } }
        while pool.queuedJobCount < 5 { await Task.yield() }

        await serviceGroup.triggerGracefulShutdown()
        release.fire()
        try await running.value
        #expect(try await held.value == -1)
        for (index, caller) in queued.enumerated() { #expect(try await caller.value == index) }
    }

    /// SIGUSR1 as the group's graceful-shutdown signal, raised in this process.
    @Test func aUnixSignalShutsTheServicesDownGracefully() async throws {
        let (loop, group, pool) = try services("svc-sig")
        let serviceGroup = ServiceGroup(
            services: [loop, group, pool], gracefulShutdownSignals: [.sigusr1], logger: logger
        )
        // Ignored until the group starts listening (it ignores the signal itself and reads it
        // through Dispatch), so that a raise before that cannot end the test process.
        signal(SIGUSR1, SIG_IGN)
        let running = Task { try await serviceGroup.run() }
        // The group listens from when it starts: raise until the services have ended.
        while !allShutDown(loop, group) {
            kill(getpid(), SIGUSR1)
            try await Task.sleep(for: .milliseconds(10))
        }
        try await running.value
        await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
    }

    @Test func cancellingTheGroupsTaskShutsTheServicesDown() async throws {
        let (loop, group, pool) = try services("svc-cancel")
        let serviceGroup = ServiceGroup(services: [loop, group, pool], logger: logger)
        let running = Task { try await serviceGroup.run() }
        // Cancellation before or after the group has started its services ends them either way.
        #expect(try await pool.run { 1 } == 1)
        running.cancel()
        _ = await running.result  // the group may rethrow the cancellation
        #expect(allShutDown(loop, group))
        await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
    }
}

/// The README's service-group example, verbatim apart from the shutdown trigger and the
/// assertions. Keep both in step.
@Test func readmeServiceGroupExample() async throws {
    let loops = try LoopGroup(loops: 2, name: "io")
    let pool = try ThreadPool(threads: 2, name: "work")
    let group = ServiceGroup(
        services: [loops, pool],  // add the server last: the group stops the last one first
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: Logger(label: "server")
    )
    let running = Task { try await group.run() }  // returns once SIGTERM or SIGINT has shut everything down
    await group.triggerGracefulShutdown()
    try await running.value
    #expect(loops.dispatchers.allSatisfy { $0.isShutDown })
    await #expect(throws: ThreadPoolError.shutDown) { try await pool.run { 0 } }
    // The group ignored both signals to read them through Dispatch; give them back.
    signal(SIGTERM, SIG_DFL)
    signal(SIGINT, SIG_DFL)
}

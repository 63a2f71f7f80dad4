import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// An actor whose executor is a dispatcher's loop thread.
actor LoopActor {
    let dispatcher: Dispatcher
    var count = 0

    init(dispatcher: Dispatcher) { self.dispatcher = dispatcher }

    nonisolated var unownedExecutor: UnownedSerialExecutor { dispatcher.unownedSerialExecutor }

    func increment() -> (Int, Bool) {
        count += 1
        return (count, dispatcher.inLoop)
    }
}

@Suite("Dispatcher", .stressTimeLimit)
struct DispatcherTests {
    @Test func tasksRunOnTheLoopThread() async throws {
        let loop = try LoopThread(name: "tasks-test")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let (inLoop, current) = await Task(executorPreference: dispatcher) {
            (dispatcher.inLoop, Dispatcher.current === dispatcher)
        }.value
        #expect(inLoop)
        #expect(current)
        #expect(!dispatcher.inLoop)  // the test itself runs elsewhere
    }

    @Test func continuationResumedFromAPlainThreadComesBackToTheLoop() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let results = await Task(executorPreference: dispatcher) { () -> [Bool] in
            var seen: [Bool] = []
            for _ in 0..<100 {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    _ = PlainThread { continuation.resume() }
                }
                seen.append(dispatcher.inLoop)
            }
            return seen
        }.value
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0 })
    }

    @Test func actorLivesOnTheLoop() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let actor = LoopActor(dispatcher: loop.dispatcher)
        var last = 0
        for _ in 0..<1000 {
            let (count, inLoop) = await actor.increment()
            #expect(inLoop)
            last = count
        }
        #expect(last == 1000)
        // assumeIsolated relies on checkIsolated / isIsolatingCurrentContext.
        let assumed = await withCheckedContinuation { continuation in
            loop.dispatcher.execute { continuation.resume(returning: actor.assumeIsolated { $0.count }) }
        }
        #expect(assumed == 1000)
    }

    @Test(.heavyStress) func executeFromFourThreadsKeepsEachThreadsOrder() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let perThread = 10_000 * stressFactor
        let seen = Mutex<[Int]>([Int](repeating: -1, count: 4))  // last value per thread
        let disorder = Atomic<Int>(0)
        let finished = try ThreadSignal()
        let remaining = Atomic<Int>(4 * perThread)
        await onPlainThreads(4) { thread in
            for value in 0..<perThread {
                dispatcher.execute {
                    let previous = seen.withLock { last in
                        defer { last[thread] = value }
                        return last[thread]
                    }
                    if previous != value - 1 { disorder.add(1, ordering: .relaxed) }
                    if remaining.subtract(1, ordering: .relaxed).newValue == 0 { finished.fire() }
                }
            }
        }
        try await finished.wait()
        #expect(disorder.load(ordering: .relaxed) == 0)
        #expect(seen.withLock { $0 } == [Int](repeating: perThread - 1, count: 4))
    }

    @Test func closuresPostedInHappensBeforeOrderRunInOrderAcrossLocalAndRemote() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let log = Mutex<[Int]>([])
        // Per round: a plain thread posts A (remote); after that post (happens-before), a
        // closure already on the loop posts B locally. A must run before B, although A sits
        // in the inbox and B would otherwise go straight to the local queue.
        for round in 0..<200 {
            let roundDone = try ThreadSignal()
            let posted = try ThreadSignal()
            let gate = try ThreadSignal()
            dispatcher.execute {
                // On the loop: hold it until A was posted. A poll, since waitSync refuses to
                // sleep on a loop thread.
                spinUntil("the gate") { gate.waitSync(timeout: .zero) }
                dispatcher.execute {
                    log.withLock { $0.append(round * 2 + 1) }
                    roundDone.fire()
                }
            }
            let worker = PlainThread {
                dispatcher.execute { log.withLock { $0.append(round * 2) } }
                posted.fire()
            }
            _ = await worker.join()
            try await posted.wait()
            gate.fire()
            try await roundDone.wait()
        }
        let values = log.withLock { $0 }
        #expect(values == Array(0..<400))
    }

    @Test func waitForOnAPlainThread() async throws {
        let result = Mutex<Int?>(nil)
        let thread = PlainThread {
            do {
                let dispatcher = try Dispatcher.forCurrentThread()
                let again = try Dispatcher.forCurrentThread()
                precondition(again === dispatcher)
                let value = try dispatcher.waitFor { () async throws -> Int in
                    try await dispatcher.sleep(for: .milliseconds(1))
                    return dispatcher.inLoop ? 42 : -1
                }
                result.withLock { $0 = value }
            } catch {
                result.withLock { $0 = -2 }
            }
        }
        await thread.join()
        #expect(result.withLock { $0 } == 42)
    }

    @Test func waitForRejectsNestingAndWrongThreads() async throws {
        let outcome = Mutex<[String]>([])
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let other = loop.dispatcher
        let thread = PlainThread {
            do {
                // Another thread's dispatcher: wrongThread.
                do {
                    _ = try other.waitFor { 1 }
                } catch let error as LoopError {
                    outcome.withLock { $0.append("other:\(error.code)") }
                }
                let dispatcher = try Dispatcher.forCurrentThread()
                let inner = try dispatcher.waitFor { () -> String in
                    do {
                        _ = try dispatcher.waitFor { 2 }
                        return "nested ran"
                    } catch let error as LoopError {
                        return "nested:\(error.code)"
                    } catch {
                        return "nested:\(error)"
                    }
                }
                outcome.withLock { $0.append(inner) }
                // The body's own error is rethrown.
                struct Boom: Error {}
                do {
                    _ = try dispatcher.waitFor { () throws -> Int in throw Boom() }
                } catch is Boom {
                    outcome.withLock { $0.append("boom") }
                }
                // run() on the wrong thread, too.
                do { try other.run() } catch let error as LoopError {
                    outcome.withLock { $0.append("run:\(error.code)") }
                }
            } catch {
                outcome.withLock { $0.append("unexpected:\(error)") }
            }
        }
        await thread.join()
        #expect(
            outcome.withLock { $0 } == [
                "other:wrongThread", "nested:alreadyRunning", "boom", "run:wrongThread",
            ])
    }

    @Test func runAndStopOnAPlainThread() async throws {
        let dispatcherBox = Mutex<Dispatcher?>(nil)
        let started = try ThreadSignal()
        let ran = Atomic<Int>(0)
        let thread = PlainThread {
            let dispatcher = try! Dispatcher.forCurrentThread()
            dispatcherBox.withLock { $0 = dispatcher }
            started.fire()
            try! dispatcher.run()
            ran.store(1, ordering: .relaxed)
        }
        try await started.wait()
        let dispatcher = try #require(dispatcherBox.withLock { $0 })
        #expect(Dispatcher.current !== dispatcher)
        let value = await Task(executorPreference: dispatcher) { 7 }.value
        #expect(value == 7)
        dispatcher.stop()
        await thread.join()
        #expect(ran.load(ordering: .relaxed) == 1)
        // The thread exited: its dispatcher shut down, and work still runs (fallback).
        #expect(dispatcher.isShutDown)
        #expect(await Task(executorPreference: dispatcher) { 8 }.value == 8)
    }

    @Test func freshThreadHasNoCurrentDispatcher() async {
        let seen = Mutex<Bool?>(nil)
        await PlainThread { seen.withLock { $0 = Dispatcher.current == nil } }.join()
        #expect(seen.withLock { $0 } == true)
    }

    @Test func busyLoopCoalescesWakeups() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        // Hold the loop busy inside a job while a plain thread posts 10,000 closures: the
        // loop cannot block, so at most one eventfd write may happen for all of them.
        let holding = try ThreadSignal()
        let release = try ThreadSignal()
        dispatcher.execute {
            holding.fire()
            // A poll: waitSync refuses to sleep on a loop thread.
            spinUntil("the release") { release.waitSync(timeout: .zero) }
        }
        try await holding.wait()
        let before = dispatcher.counters
        let done = try ThreadSignal()
        let remaining = Atomic<Int>(10_000)
        await PlainThread {
            for _ in 0..<10_000 {
                dispatcher.execute {
                    if remaining.subtract(1, ordering: .relaxed).newValue == 0 { done.fire() }
                }
            }
        }.join()
        release.fire()
        try await done.wait()
        let after = dispatcher.counters
        #expect(after.eventfdWrites - before.eventfdWrites <= 1)
        #expect(after.jobsRun - before.jobsRun >= 10_000)
    }

    @Test func sameThreadEnqueuesMakeNoSystemCalls() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let (writes, waits) = await Task(executorPreference: dispatcher) { () -> (Int, Int) in
            let before = dispatcher.counters
            for _ in 0..<10_000 { await Task.yield() }
            let after = dispatcher.counters
            return (after.eventfdWrites - before.eventfdWrites, after.epollWaits - before.epollWaits)
        }.value
        #expect(writes == 0)
        #expect(waits == 0)
    }

    @Test func idleLoopBlocks() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        _ = await Task(executorPreference: dispatcher) { 0 }.value
        // Wait on an event the loop can only see by blocking and waking in epoll.
        let before = dispatcher.counters.epollWaits
        try await dispatcher.sleep(for: .milliseconds(20))
        let waits = dispatcher.counters.epollWaits - before
        #expect(waits >= 1)
        #expect(waits < 20)  // not a polling loop: a handful of waits for a 20 ms sleep
    }

    @Test(.heavyStress) func stressTasksHopBetweenTwoLoopsAndPlainThreads() async throws {
        let first = try LoopThread(name: "stress-a")
        let second = try LoopThread(name: "stress-b")
        defer {
            first.shutdown()
            second.shutdown()
        }
        let rounds = 200 * stressFactor
        let total = Counter()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                let home = index.isMultiple(of: 2) ? first.dispatcher : second.dispatcher
                let away = index.isMultiple(of: 2) ? second.dispatcher : first.dispatcher
                group.addTask(executorPreference: home) {
                    for _ in 0..<rounds {
                        precondition(home.inLoop)
                        await withTaskExecutorPreference(away) { precondition(away.inLoop) }
                        precondition(home.inLoop)
                        await withCheckedContinuation { continuation in
                            away.execute { continuation.resume() }
                        }
                        total.add()
                    }
                }
            }
        }
        #expect(total.value == 8 * rounds)
    }
}

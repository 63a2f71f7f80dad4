import EventLoop
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@Suite("ThreadSignal", .stressTimeLimit)
struct ThreadSignalTests {
    @Test func firesCoalesce() async throws {
        let signal = try ThreadSignal()
        signal.fire()
        signal.fire()
        signal.fire()
        try await signal.wait()  // consumes the one pending fire
        #expect(!signal.waitSync(timeout: .zero))  // nothing left
        signal.fire()
        #expect(signal.waitSync(timeout: .zero))
    }

    @Test func oneFireWakesOneWaiter() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let signal = try ThreadSignal()
        let woken = Counter()
        let tasks = (0..<3).map { _ in
            Task(executorPreference: loop.dispatcher) {
                try await signal.wait()
                woken.add()
            }
        }
        // Each fire wakes exactly one; fire until all three are through.
        for expected in 1...3 {
            while woken.value < expected {
                signal.fire()
                await Task.yield()
            }
        }
        for task in tasks { try await task.value }
        #expect(woken.value == 3)
    }

    @Test func pingPongWithAPlainThread() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let ping = try ThreadSignal()
        let pong = try ThreadSignal()
        let rounds = 2000 * stressFactor
        let thread = PlainThread {
            for _ in 0..<rounds {
                ping.fire()
                precondition(pong.waitSync(timeout: nil))
            }
        }
        try await Task(executorPreference: loop.dispatcher) {
            for _ in 0..<rounds {
                try await ping.wait()
                pong.fire()
            }
        }.value
        await thread.join()
    }

    @Test(.heavyStress) func manyThreadsAndTasksNoLostWakeups() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let signal = try ThreadSignal()
        let acknowledged = try ThreadSignal()
        let rounds = 500 * stressFactor
        // A fire, then wait for its acknowledgement: every fire must wake someone.
        let received = Counter()
        let consumers = (0..<2).map { _ in
            Task(executorPreference: loop.dispatcher) {
                while true {
                    do { try await signal.wait() } catch { return }
                    received.add()
                    acknowledged.fire()
                }
            }
        }
        let syncConsumer = PlainThread {
            while signal.waitSync(timeout: nil) {
                received.add()
                acknowledged.fire()
            }
        }
        // One fire outstanding at a time, so none can coalesce: each must be received.
        await PlainThread {
            for _ in 0..<rounds {
                signal.fire()
                _ = acknowledged.waitSync(timeout: nil)
            }
        }.join()
        signal.close()
        for consumer in consumers { await consumer.value }
        await syncConsumer.join()
        #expect(received.value == rounds)
    }

    @Test func closeWakesEveryWaiterWithAnError() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let signal = try ThreadSignal()
        let waiting = Counter()
        let tasks = (0..<4).map { _ in
            Task(executorPreference: loop.dispatcher) { () -> Bool in
                waiting.add()
                do {
                    try await signal.wait()
                    return false
                } catch let error as LoopError {
                    return error == .closed
                } catch { return false }
            }
        }
        let blocked = PlainThread { precondition(!signal.waitSync(timeout: nil)) }
        await waitUntil("four waiters") { waiting.value >= 4 }
        signal.close()
        signal.close()  // idempotent
        for task in tasks { #expect(await task.value) }
        await blocked.join()
        signal.fire()  // no effect
        await #expect(throws: LoopError.closed) { try await signal.wait() }
        #expect(!signal.waitSync(timeout: .milliseconds(1)))
    }

    @Test func waitSyncTimesOut() throws {
        let signal = try ThreadSignal()
        #expect(!signal.waitSync(timeout: .milliseconds(5)))
        #expect(!signal.waitSync(timeout: .seconds(-1)))
    }

    @Test func cancelledWaitDoesNotConsumeAFire() async throws {
        let signal = try ThreadSignal()
        for _ in 0..<200 {
            let task = Task { try await signal.wait() }
            task.cancel()
            _ = try? await task.value
        }
        signal.fire()
        #expect(signal.waitSync(timeout: .zero))
    }
}

@Suite("LoopThread and shutdown", .stressTimeLimit)
struct ShutdownTests {
    @Test func shutdownIsIdempotentAndWorksFromTheLoopThreadItself() async throws {
        let loop = try LoopThread(name: "self-stopper")
        loop.shutdown()
        loop.shutdown()
        #expect(loop.dispatcher.isShutDown)

        let other = try LoopThread()
        let dispatcher = other.dispatcher
        await withCheckedContinuation { continuation in
            dispatcher.execute {
                other.shutdown()  // on its own thread: requests the stop, does not deadlock
                continuation.resume()
            }
        }
        // The loop finishes its current job, then shuts down; wait for that event.
        let down = try ThreadSignal()
        let poller = PlainThread {
            while !dispatcher.isShutDown { _ = down.waitSync(timeout: .milliseconds(1)) }
        }
        await poller.join()
        #expect(dispatcher.isShutDown)
    }

    @Test func pendingWaitsFailWhenTheLoopShutsDown() async throws {
        let loop = try LoopThread()
        let dispatcher = loop.dispatcher
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        let registered = Counter()
        let sleeper = Task(executorPreference: dispatcher) { () -> LoopError? in
            registered.add()
            do { try await dispatcher.sleep(for: .seconds(3600)) } catch { return error as? LoopError }
            return nil
        }
        let reader = Task(executorPreference: dispatcher) { () -> LoopError? in
            registered.add()
            do { try await dispatcher.waitReadable(pipe.readFD) } catch { return error as? LoopError }
            return nil
        }
        let neverRuns = Counter()
        let scheduled = dispatcher.schedule(after: .seconds(3600)) { neverRuns.add() }
        // Both tasks have started and, being on the loop, registered their waits before
        // the loop can run the shutdown request that follows them.
        await waitUntil("both tasks registered") { registered.value >= 2 }
        await withCheckedContinuation { continuation in dispatcher.execute { continuation.resume() } }
        loop.shutdown()
        #expect(await sleeper.value == .shutDown)
        #expect(await reader.value == .shutDown)
        // The shutdown dropped the scheduled closure, and its handle says so.
        #expect(scheduled.state == .shutDown)
        scheduled.cancel()
        #expect(scheduled.state == .shutDown, "a cancel after the outcome changes nothing")
        #expect(neverRuns.value == 0)
    }

    @Test func workAfterShutdownStillRunsOrFailsClearly() async throws {
        let loop = try LoopThread()
        let dispatcher = loop.dispatcher
        loop.shutdown()
        // Task jobs and closures run on the fallback queue: no task hangs. inLoop is false
        // there (the loop thread is gone).
        #expect(await Task(executorPreference: dispatcher) { 1 }.value == 1)
        #expect(await Task(executorPreference: dispatcher) { dispatcher.inLoop }.value == false)
        let ran = try ThreadSignal()
        dispatcher.execute { ran.fire() }
        try await ran.wait()
        // An actor on the dead loop still runs, serially.
        let actor = LoopActor(dispatcher: dispatcher)
        for _ in 0..<100 { _ = await actor.increment() }
        #expect(await actor.count == 100)
        // Loop services fail with a clear error.
        await #expect(throws: LoopError.shutDown) { try await dispatcher.sleep(for: .seconds(1)) }
        await #expect(throws: LoopError.shutDown) { try await dispatcher.waitReadable(0) }
        let neverRuns = Counter()
        // A schedule on a dead loop is visible at once: the handle reports the shutdown.
        let late = dispatcher.schedule(after: .zero) { neverRuns.add() }
        #expect(late.state == .shutDown)
        let flushed = try ThreadSignal()
        dispatcher.execute { flushed.fire() }
        try await flushed.wait()
        #expect(neverRuns.value == 0)
        #expect(throws: LoopError.shutDown) { try dispatcher.run() }
    }

    @Test func loopThreadsComeAndGo() async throws {
        for _ in 0..<50 {
            let loop = try LoopThread(name: "short-lived")
            #expect(await Task(executorPreference: loop.dispatcher) { 5 }.value == 5)
        }  // released: deinit shuts it down
    }
}

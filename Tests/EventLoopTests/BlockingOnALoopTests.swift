import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

/// `Dispatcher.currentThreadRunsALoop`, the check behind the blocking calls' refusal, and
/// `ThreadSignal.waitSync`, which stops the process rather than stall a loop.
@Suite("Blocking on a loop", .stressTimeLimit)
struct BlockingOnALoopTests {
    // MARK: currentThreadRunsALoop

    @Test func aPlainThreadRunsNoLoop() async {
        let seen = LockedValue<Bool?>(nil)
        let thread = PlainThread { seen.withLock { $0 = Dispatcher.currentThreadRunsALoop } }
        await thread.join()
        #expect(seen.withLock { $0 } == false)
    }

    @Test func aLoopThreadRunsALoopInTasksAndClosures() async throws {
        let loop = try LoopThread(name: "runs-a-loop")
        defer { loop.shutdown() }
        let inTask = await Task(executorPreference: loop.dispatcher) { Dispatcher.currentThreadRunsALoop }.value
        #expect(inTask)
        let closureSaw = LockedValue<Bool?>(nil)
        loop.dispatcher.execute { closureSaw.withLock { $0 = Dispatcher.currentThreadRunsALoop } }
        await waitUntil { closureSaw.withLock { $0 } != nil }
        #expect(closureSaw.withLock { $0 } == true)
    }

    /// A thread dispatcher runs its loop only inside `waitFor` and `run()`: before, between
    /// and after them its thread is a plain thread.
    @Test func aThreadDispatcherRunsALoopOnlyInsideWaitForAndRun() async {
        let seen = LockedValue<[String]>([])
        let thread = PlainThread {
            do {
                let dispatcher = try Dispatcher.forCurrentThread()
                seen.withLock { $0.append("before:\(Dispatcher.currentThreadRunsALoop)") }
                let inside = try dispatcher.waitFor { Dispatcher.currentThreadRunsALoop }
                seen.withLock { $0.append("waitFor:\(inside)") }
                seen.withLock { $0.append("between:\(Dispatcher.currentThreadRunsALoop)") }
                dispatcher.execute {
                    seen.withLock { $0.append("run:\(Dispatcher.currentThreadRunsALoop)") }
                    dispatcher.stop()
                }
                try dispatcher.run()
                seen.withLock { $0.append("after:\(Dispatcher.currentThreadRunsALoop)") }
            } catch {
                seen.withLock { $0.append("unexpected:\(error)") }
            }
        }
        await thread.join()
        #expect(
            seen.withLock { $0 } == [
                "before:false", "waitFor:true", "between:false", "run:true", "after:false",
            ])
    }

    /// After shutdown the fallback queue's drain stands in for the loop thread, so it counts
    /// as running the loop (blocking calls refuse there too), while `inLoop` tells the truth:
    /// the loop thread is gone.
    @Test func theFallbackDrainOfAShutDownDispatcherRunsALoop() async throws {
        let loop = try LoopThread(name: "drain")
        let dispatcher = loop.dispatcher
        loop.shutdown()
        #expect(dispatcher.isShutDown)
        let (inDrain, inLoop) = await Task(executorPreference: dispatcher) {
            (Dispatcher.currentThreadRunsALoop, dispatcher.inLoop)
        }.value
        #expect(!inLoop)
        #expect(inDrain)
    }

    // MARK: ThreadSignal.waitSync

    @Test func waitSyncOnALoopStopsTheProcessWithAMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let loop = try LoopThread(name: "wait-sync")
            let signal = try ThreadSignal()
            _ = await Task(executorPreference: loop.dispatcher) { signal.waitSync(timeout: nil) }.value
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("ThreadSignal.waitSync(timeout:)"))
        #expect(message.contains("call wait() from a task"))
    }

    @Test func waitSyncWithATimeoutOnALoopStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let loop = try LoopThread(name: "wait-sync")
            let signal = try ThreadSignal()
            _ = await Task(executorPreference: loop.dispatcher) { signal.waitSync(timeout: .seconds(30)) }.value
        }
    }

    /// A poll never sleeps, and neither does a wait that finds the signal set: both are
    /// allowed on a loop.
    @Test func waitSyncThatDoesNotSleepIsAllowedOnALoop() async throws {
        let loop = try LoopThread(name: "poll")
        defer { loop.shutdown() }
        let signal = try ThreadSignal()
        let results = await Task(executorPreference: loop.dispatcher) { () -> [Bool] in
            var results = [signal.waitSync(timeout: .zero), signal.waitSync(timeout: .seconds(-1))]
            signal.fire()
            results.append(signal.waitSync(timeout: .zero))
            signal.fire()
            results.append(signal.waitSync(timeout: nil))
            signal.close()
            results.append(signal.waitSync(timeout: nil))
            return results
        }.value
        #expect(results == [false, false, true, true, false])
    }

    @Test func waitSyncStillBlocksAPlainThread() async throws {
        let signal = try ThreadSignal()
        let fired = LockedValue<Bool?>(nil)
        let thread = PlainThread {
            let result = signal.waitSync(timeout: nil)  // outside the lock the test polls
            fired.withLock { $0 = result }
        }
        // Fire until the thread has taken one: whether it is asleep yet or not, it returns.
        while fired.withLock({ $0 }) == nil {
            signal.fire()
            await Task.yield()
        }
        await thread.join()
        #expect(fired.withLock { $0 } == true)
    }

    /// Between two `waitFor` calls a thread dispatcher's thread is plain, so it may sleep in
    /// `waitSync` until another thread fires.
    @Test func waitSyncBlocksAThreadDispatcherBetweenWaitFors() async throws {
        let signal = try ThreadSignal()
        let ready = try ThreadSignal()
        let outcome = LockedValue<[String]>([])
        let thread = PlainThread {
            do {
                let dispatcher = try Dispatcher.forCurrentThread()
                let inside = try dispatcher.waitFor { signal.waitSync(timeout: .zero) }
                outcome.withLock { $0.append("poll:\(inside)") }
                ready.fire()
                let fired = signal.waitSync(timeout: nil)
                outcome.withLock { $0.append("wait:\(fired)") }
                let again = try dispatcher.waitFor { 1 }
                outcome.withLock { $0.append("again:\(again)") }
            } catch {
                outcome.withLock { $0.append("unexpected:\(error)") }
            }
        }
        try await ready.wait()
        while outcome.withLock({ $0.count }) < 2 {
            signal.fire()
            await Task.yield()
        }
        await thread.join()
        #expect(outcome.withLock { $0 } == ["poll:false", "wait:true", "again:1"])
    }
}

import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// Schedules `count` closures far in the future on `dispatcher` and returns once they are
/// all in its heap: they make the shutdown's own work (failing the timers) long.
private func scheduleFarTimers(_ count: Int, on dispatcher: Dispatcher) async {
    // From a task on the loop: each goes straight into the heap.
    await Task(executorPreference: dispatcher) {
        for _ in 0..<count { dispatcher.schedule(after: .seconds(3600)) {} }
    }.value
}

@Suite("Shutdown edges", .stressTimeLimit)
struct ShutdownEdgeTests {
    /// A plain thread posts 0, 1, 2, … with `execute` while the loop shuts down with many
    /// timers pending. Work accepted before the shutdown and work handed to the fallback
    /// queue after it must run in the order it was posted.
    @Test(.heavyStress) func executeKeepsItsOrderAcrossTheShutdownHandOff() async throws {
        let rounds = 16 * stressFactor
        var disorderedRounds = 0
        for _ in 0..<rounds {
            let loop = try LoopThread(name: "handoff-order")
            let dispatcher = loop.dispatcher
            await scheduleFarTimers(20_000, on: dispatcher)
            let last = Counter(-1)
            let disorder = Counter()
            let ran = Counter()
            let posted = Counter()
            let poster = PlainThread {
                var value = 0
                var postedAfterShutdown = 0
                // Posts across the shutdown, then a bounded number more: those land on the
                // fallback queue. The backlog stays bounded too, so a slow machine (or a
                // sanitizer) is not flooded with closures while the test waits its turn.
                while postedAfterShutdown < 512 {
                    if value - ran.value > 4096 {
                        sched_yield()
                        continue
                    }
                    let mine = value
                    dispatcher.execute {
                        if last.exchange(mine) > mine { disorder.add() }
                        ran.add()
                    }
                    value += 1
                    posted.store(value)
                    if dispatcher.isShutDown { postedAfterShutdown += 1 }
                    if value & 255 == 0 { sched_yield() }
                }
            }
            // A plain thread shuts the loop down mid-stream, so the race does not depend on
            // when the test's task next gets a thread of the cooperative pool.
            let stopper = PlainThread {
                spinUntil("the poster to have posted") { posted.value >= 1000 }
                loop.shutdown()
            }
            await stopper.join()
            await poster.join()
            await waitUntil("every posted closure to run") { ran.value == posted.value }
            if disorder.value > 0 { disorderedRounds += 1 }
        }
        #expect(disorderedRounds == 0, "closures ran out of order in \(disorderedRounds) of \(rounds) rounds")
    }

    /// A task sleeping on the loop (failed first by the shutdown) cancels another task's
    /// descriptor wait. The shutdown fails every loop wait before any late work runs, so the
    /// descriptor wait ends with `shutDown`, and its registration is never touched by two
    /// threads at once (ThreadSanitizer checks the latter).
    @Test(.heavyStress) func shutdownFailsLoopWaitsBeforeLateWorkRuns() async throws {
        let rounds = 10 * stressFactor
        for _ in 0..<rounds {
            let pipe = try Pipe()
            defer { pipe.closeBoth() }
            let loop = try LoopThread(name: "shutdown-waits")
            let dispatcher = loop.dispatcher
            let waiting = Counter()
            let reader = Task(executorPreference: dispatcher) { () -> String in
                do {
                    waiting.store(1)
                    try await dispatcher.waitReadable(pipe.readFD)
                    return "readable"
                } catch let error as LoopError {
                    return error.code == .shutDown ? "shutDown" : "\(error)"
                } catch {
                    return "\(error)"
                }
            }
            // The sleep has the earliest deadline: the shutdown fails it first.
            let sleeping = Counter()
            let canceller = Task(executorPreference: dispatcher) {
                sleeping.store(1)
                try? await dispatcher.sleep(for: .seconds(600))
                reader.cancel()
            }
            await waitUntil("both tasks to wait") { waiting.value == 1 && sleeping.value == 1 }
            await scheduleFarTimers(20_000, on: dispatcher)
            loop.shutdown()
            await canceller.value
            #expect(await reader.value == "shutDown")
        }
    }

    /// A `stop()` made before a `waitFor` does not end it, and does not make its loop spin:
    /// a body waiting on a pipe finishes when another thread writes the pipe, and the loop
    /// blocks in `epoll_wait` meanwhile. The stop stays pending and ends the next `run()`.
    @Test func stopBeforeWaitForIsLeftForTheNextRun() async throws {
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        let dispatcherBox = Mutex<Dispatcher?>(nil)
        let result = Mutex<String?>(nil)
        let epollWaitsInBody = Counter(-1)
        let idleSpinsInBody = Counter(-1)
        let bodySeconds = Counter(-1)
        let runReturned = Counter()
        let thread = PlainThread {
            let dispatcher = try! Dispatcher.forCurrentThread()
            dispatcherBox.withLock { $0 = dispatcher }
            dispatcher.stop()
            let outcome: String
            do {
                outcome = try dispatcher.waitFor { () async throws -> String in
                    let before = dispatcher.counters.epollWaits
                    let spinsBefore = dispatcher.counters.idleSpins
                    let started = monotonicNanoseconds()
                    // Bounded, so that a loop that never blocks fails the test instead of
                    // hanging it (timers fire even on a spinning loop).
                    let first = await withTaskGroup(of: String.self) { group in
                        group.addTask {
                            do {
                                try await dispatcher.waitReadable(pipe.readFD)
                                return "readable"
                            } catch { return "\(error)" }
                        }
                        group.addTask {
                            do {
                                try await dispatcher.sleep(for: .seconds(40))
                                return "gave up: the pipe's readability was never seen"
                            } catch { return "cancelled" }
                        }
                        let first = await group.next()!
                        group.cancelAll()
                        return first
                    }
                    epollWaitsInBody.store(dispatcher.counters.epollWaits - before)
                    idleSpinsInBody.store(dispatcher.counters.idleSpins - spinsBefore)
                    bodySeconds.store(Int((monotonicNanoseconds() - started) / 1_000_000_000))
                    return first
                }
            } catch {
                outcome = "\(error)"
            }
            result.withLock { $0 = outcome }
            // The stop is still pending: this run() returns after one pass.
            try! dispatcher.run()
            runReturned.store(1)
        }
        // The writer is a plain thread, not this test's task: the task runs on the shared
        // cooperative pool, which a loaded machine (the whole suite under ThreadSanitizer)
        // can keep busy for longer than the body's 40 s bound.
        let wrote = Counter(-1)
        let writer = PlainThread {
            spinUntil("the thread's dispatcher") { dispatcherBox.withLock { $0 } != nil }
            let dispatcher = dispatcherBox.withLock { $0 }!
            // The loop enters epoll_wait with the body waiting on the pipe (a spinning loop
            // never does; the body's bound keeps that case from hanging).
            spinUntil("the loop to block in epoll_wait") { dispatcher.counters.epollWaits > 0 }
            wrote.store(pipe.write(1))
        }
        await writer.join()
        await thread.join()
        #expect(wrote.value == 1)
        #expect(result.withLock { $0 } == "readable")
        // Readiness wakes the one blocking wait; a few more polls at most, never a spin.
        // The loop also wakes for its descriptor audit, about once a second while a
        // descriptor wait exists, and the body lasts as long as the writer takes to write
        // the pipe (long on a loaded machine): a few wakes per second at most. The
        // loop's idle spins (its adaptive policy: a few, then a probe now and then) poll the
        // descriptors every 5 µs of their 50 µs window: 11 polls each at most. A loop that
        // spins for ever makes millions.
        #expect(
            (0..<(16 + 2 * bodySeconds.value + 11 * idleSpinsInBody.value)).contains(epollWaitsInBody.value),
            "\(epollWaitsInBody.value) epoll waits, \(idleSpinsInBody.value) idle spins, \(bodySeconds.value) s"
        )
        #expect(runReturned.value == 1)
    }
}

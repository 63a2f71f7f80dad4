import EventLoop
import Glibc
import LoopTestSupport
import Synchronization
import Testing

/// CLOCK_MONOTONIC in nanoseconds, the clock the dispatcher's deadlines use.
private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

@Suite("Timers", .stressTimeLimit)
struct TimerTests {
    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let fired = Mutex<[Int]>([])
        let calls = Mutex<[(before: UInt64, after: UInt64)]>([])
        let done = try ThreadSignal()
        // Scheduled in scrambled order, and two of them cancelled, inside one closure on the
        // loop thread: no timer can fire before the closure returns, so a cancelled timer
        // never runs however long any thread is preempted. Each deadline is read inside
        // `schedule`, between `before` and `after`; a preempted loop thread widens that
        // window, so the check below only demands order where the windows prove it.
        let delays = [9, 3, 7, 1, 5, 5, 2, 8, 6, 4].map { UInt64($0) * 2_000_000 }
        dispatcher.execute {
            var handles: [Scheduled] = []
            var times: [(before: UInt64, after: UInt64)] = []
            for (index, delay) in delays.enumerated() {
                let before = monotonicNanoseconds()
                handles.append(
                    dispatcher.schedule(after: .nanoseconds(delay)) {
                        fired.withLock { $0.append(index) }
                    })
                times.append((before, monotonicNanoseconds()))
            }
            calls.withLock { $0 = times }
            handles[2].cancel()  // delay 7
            handles[7].cancel()  // delay 8
            handles[7].cancel()  // idempotent
            dispatcher.schedule(after: .milliseconds(30)) { done.fire() }
        }
        try await done.wait()
        let times = calls.withLock { $0 }
        let windows = zip(times, delays).map { (earliest: $0.before + $1, latest: $0.after + $1) }
        let order = fired.withLock { $0 }
        #expect(order.sorted() == [0, 1, 3, 4, 5, 6, 8, 9])
        for (position, earlier) in order.enumerated() {
            for later in order[(position + 1)...] {
                // `later` fired after `earlier`, so its deadline cannot be provably earlier.
                #expect(
                    windows[later].latest >= windows[earlier].earliest,
                    "timer \(later) fired after timer \(earlier) despite an earlier deadline")
            }
        }
        // When all ten were scheduled within 1 ms (delays are 2 ms apart), every deadline
        // is ordered as its delay is: the exact order, ties in scheduling order.
        if times[times.count - 1].after - times[0].before < 1_000_000 {
            #expect(order == [3, 6, 1, 9, 4, 5, 8, 0])
        }
    }

    /// A handle leaves `pending` once: for `fired` when the work ran, `cancelled` when a
    /// cancel won; later cancels change nothing.
    @Test func scheduledStateTellsWhatBecameOfTheWork() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let ran = try ThreadSignal()
        let far = dispatcher.schedule(after: .seconds(3600)) {}
        #expect(far.state == .pending)
        let soon = dispatcher.schedule(after: .zero) { ran.fire() }
        try await ran.wait()
        #expect(soon.state == .fired)
        soon.cancel()
        #expect(soon.state == .fired)
        far.cancel()
        #expect(far.state == .cancelled)
        far.cancel()
        #expect(far.state == .cancelled)
    }

    @Test func pastDeadlinesRunInScheduleOrder() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let fired = Mutex<[Int]>([])
        let done = try ThreadSignal()
        // Scheduled on the loop thread in one closure with delays that are all in the past:
        // each deadline is "now" (consecutive reads can be equal) and they run in scheduling order.
        loop.dispatcher.execute {
            for index in 0..<50 {
                loop.dispatcher.schedule(after: .seconds(-1)) {
                    fired.withLock { $0.append(index) }
                }
            }
            loop.dispatcher.schedule(after: .milliseconds(1)) { done.fire() }
        }
        try await done.wait()
        #expect(fired.withLock { $0 } == Array(0..<50))
    }

    @Test func zeroAndNegativeDelaysRunSoon() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let ran = try ThreadSignal()
        let twice = Counter()
        loop.dispatcher.schedule(after: .zero) { twice.add() }
        loop.dispatcher.schedule(after: .seconds(-5)) {
            twice.add()
            ran.fire()
        }
        try await ran.wait()
        #expect(twice.value == 2)
    }

    @Test func sleepResumesOnTheCallersExecutor() async throws {
        let loop = try LoopThread()
        let other = try LoopThread()
        defer {
            loop.shutdown()
            other.shutdown()
        }
        let onOther = await Task(executorPreference: other.dispatcher) { () -> Bool in
            try? await loop.dispatcher.sleep(for: .milliseconds(2))
            return other.dispatcher.inLoop
        }.value
        #expect(onOther)
        try await loop.dispatcher.sleep(for: .milliseconds(1))  // from the global executor
        try await loop.dispatcher.sleep(for: .zero)
        try await loop.dispatcher.sleep(for: .seconds(-1))
    }

    @Test func sleepCancellationThrowsPromptly() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let started = try ThreadSignal()
        let task = Task(executorPreference: dispatcher) { () -> String in
            started.fire()
            do {
                try await dispatcher.sleep(for: .seconds(3600))
                return "slept"
            } catch is CancellationError {
                return "cancelled"
            } catch {
                return "other: \(error)"
            }
        }
        try await started.wait()
        task.cancel()
        #expect(await task.value == "cancelled")
        // Already cancelled before sleeping: throws at once, too.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await dispatcher.sleep(for: .seconds(3600))
                return false
            } catch { return error is CancellationError }
        }
        #expect(await early.value)
    }

    @Test(.heavyStress) func manySleepsAndCancellationsRace() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let count = 1000 * stressFactor
        let outcomes = await withTaskGroup(of: Bool?.self) { group in
            for index in 0..<count {
                let task = Task(executorPreference: dispatcher) { () -> Bool? in
                    do {
                        try await dispatcher.sleep(for: .microseconds(index % 50))
                        return true
                    } catch is CancellationError {
                        return false
                    } catch {
                        return nil
                    }
                }
                if index.isMultiple(of: 2) { task.cancel() }
                group.addTask { await task.value }
            }
            var all: [Bool?] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.count == count)
        #expect(!outcomes.contains(nil))
    }

    @Test func hugeDurationsAreClampedNotTrapped() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let handle = loop.dispatcher.schedule(after: .seconds(Int64.max)) {}
        handle.cancel()
        let task = Task { try await loop.dispatcher.sleep(for: .seconds(Int64.max)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}

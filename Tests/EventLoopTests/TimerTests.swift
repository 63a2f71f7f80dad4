import EventLoop
import LoopTestSupport
import Synchronization
import Testing

@Suite("Timers", .timeLimit(.minutes(1)))
struct TimerTests {
    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let fired = Mutex<[Int]>([])
        let done = try ThreadSignal()
        // Scheduled from the test (off the loop) in scrambled order; same deadline keeps order.
        let delays = [9, 3, 7, 1, 5, 5, 2, 8, 6, 4]
        var handles: [Scheduled] = []
        for (index, delay) in delays.enumerated() {
            handles.append(
                dispatcher.schedule(after: .milliseconds(delay * 2)) {
                    fired.withLock { $0.append(index) }
                })
        }
        handles[2].cancel()  // delay 7
        handles[7].cancel()  // delay 8
        handles[7].cancel()  // idempotent
        dispatcher.schedule(after: .milliseconds(30)) { done.fire() }
        try await done.wait()
        #expect(fired.withLock { $0 } == [3, 6, 1, 9, 4, 5, 8, 0])
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

    @Test func manySleepsAndCancellationsRace() async throws {
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

import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// Durations at and beyond the edges of `Duration`'s range.
let extremeNegativeDurations: [Duration] = [
    .seconds(-1), .nanoseconds(-1), .seconds(Int64.min), Duration(secondsComponent: 0, attosecondsComponent: -1),
]
let extremeHugeDurations: [Duration] = [
    .seconds(Int64.max), .seconds(4_000_000_000), .nanoseconds(Int64.max),
    Duration(secondsComponent: Int64.max, attosecondsComponent: 999_999_999_999_999_999),
]

/// Bad input to the EventLoop module: every entry point given a negative, huge or invalid
/// argument answers with its documented result or error, never a trap or a hang.
@Suite("Reliability: event loop bad input", .stressTimeLimit)
struct ReliabilityLoopInputTests {
    @Test func negativeAndZeroSleepsReturnAtOnceAndHonourCancellation() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        for duration in extremeNegativeDurations + [.zero] {
            try await dispatcher.sleep(for: duration)
            try await Task(executorPreference: dispatcher) { try await dispatcher.sleep(for: duration) }.value
            let cancelled = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await dispatcher.sleep(for: duration)
            }
            await #expect(throws: CancellationError.self, "\(duration)") { try await cancelled.value }
        }
    }

    @Test func hugeSleepsAreCancellableAndFailOnShutdown() async throws {
        let loop = try LoopThread()
        let dispatcher = loop.dispatcher
        for duration in extremeHugeDurations {
            let sleeper = Task { try await dispatcher.sleep(for: duration) }
            sleeper.cancel()
            await #expect(throws: CancellationError.self, "\(duration)") { try await sleeper.value }
        }
        let pending = extremeHugeDurations.map { duration in
            Task(executorPreference: dispatcher) { try await dispatcher.sleep(for: duration) }
        }
        // One round trip through the loop: the sleeps (enqueued earlier) have registered.
        await withCheckedContinuation { continuation in dispatcher.execute { continuation.resume() } }
        loop.shutdown()
        for sleeper in pending {
            await #expect(throws: LoopError.shutDown) { try await sleeper.value }
        }
    }

    @Test func scheduleWithNegativeDelaysRunsSoonAndHugeDelaysNever() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let ran = Counter()
        let neverRuns = Counter()
        let huge = extremeHugeDurations.map { dispatcher.schedule(after: $0) { neverRuns.add() } }
        for duration in extremeNegativeDurations { dispatcher.schedule(after: duration) { ran.add() } }
        let done = try ThreadSignal()
        dispatcher.schedule(after: .zero) { done.fire() }  // same deadline class: runs after the above
        try await done.wait()
        #expect(ran.value == extremeNegativeDurations.count)
        for handle in huge {
            handle.cancel()
            handle.cancel()
        }
        #expect(neverRuns.value == 0)
    }

    @Test func waitSyncTimeoutsAtTheEdges() async throws {
        let signal = try ThreadSignal()
        // Zero or negative: a poll.
        for timeout in extremeNegativeDurations + [.zero] { #expect(!signal.waitSync(timeout: timeout)) }
        signal.fire()
        #expect(signal.waitSync(timeout: .seconds(Int64.min)), "a pending fire is taken even by a poll")
        // Huge or nil: waits until fired, without overflowing the deadline.
        let woken = Counter()
        let timeouts: [Duration?] = extremeHugeDurations + [nil]
        for timeout in timeouts {
            let waiter = PlainThread { if signal.waitSync(timeout: timeout) { woken.add() } }
            // Fire until the waiter has taken one (it may not be blocked yet: fires coalesce).
            let done = Counter()
            let firer = PlainThread {
                waiter.joinBlocking()
                done.add()
            }
            while done.value == 0 {
                signal.fire()
                await Task.yield()
            }
            await firer.join()
        }
        #expect(woken.value == timeouts.count)
    }

    @Test func everyCallOnAClosedThreadSignal() async throws {
        let signal = try ThreadSignal()
        signal.close()
        signal.close()  // idempotent
        signal.fire()  // does nothing
        await #expect(throws: LoopError.closed) { try await signal.wait() }
        #expect(!signal.waitSync(timeout: nil), "a closed signal does not block, even with no timeout")
        #expect(!signal.waitSync(timeout: .seconds(Int64.max)))
        let loop = try LoopThread()
        defer { loop.shutdown() }
        await #expect(throws: LoopError.closed) {
            try await Task(executorPreference: loop.dispatcher) { try await signal.wait() }.value
        }
        // A fire that came before the close is still taken by the next wait.
        let fired = try ThreadSignal()
        fired.fire()
        fired.close()
        #expect(fired.waitSync(timeout: .zero))
        #expect(!fired.waitSync(timeout: nil))
    }

    @Test(arguments: [Int32(-1), -2, Int32.min, Int32.max, 1 << 20])
    func invalidDescriptorNumbersThrowBadDescriptor(fd: Int32) async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        for writable in [false, true] {
            // From the global executor and from a task on the loop.
            for onLoop in [false, true] {
                let wait: @Sendable () async throws -> Void = {
                    if writable { try await dispatcher.waitWritable(fd) } else { try await dispatcher.waitReadable(fd) }
                }
                await #expect {
                    if onLoop {
                        try await Task(executorPreference: dispatcher) { try await wait() }.value
                    } else {
                        try await wait()
                    }
                } throws: { error in
                    let error = error as? LoopError
                    return error?.code == .badDescriptor && error?.fd == fd && error?.errno == EBADF
                }
            }
        }
        #expect(await Task(executorPreference: dispatcher) { dispatcher.inLoop }.value, "the loop keeps running")
    }

    @Test func unsupportedDescriptorKindsThrowBadDescriptor() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let directory = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let path = "/tmp/loopchannels-input-\(getpid())"
        let file = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        unlink(path)
        defer {
            close(directory)
            close(file)
        }
        for fd in [directory, file] {
            await #expect {
                try await dispatcher.waitReadable(fd)
            } throws: { ($0 as? LoopError)?.code == .badDescriptor && ($0 as? LoopError)?.errno == EPERM }
            await #expect {
                try await dispatcher.waitWritable(fd)
            } throws: { ($0 as? LoopError)?.code == .badDescriptor && ($0 as? LoopError)?.errno == EPERM }
        }
    }

    @Test func loopThreadNamesOfAnyLengthWork() async throws {
        for name in ["", "x", "exactly-15-byte", String(repeating: "long-name-", count: 100), "émoji-🙂-name-é"] {
            let loop = try LoopThread(name: name)
            #expect(await Task(executorPreference: loop.dispatcher) { 1 }.value == 1)
            loop.shutdown()
        }
    }

    @Test func runAndWaitForOffTheirThreadOrAfterShutdownThrow() async throws {
        let loop = try LoopThread()
        let dispatcher = loop.dispatcher
        #expect(throws: LoopError.wrongThread) { try dispatcher.run() }
        #expect(throws: LoopError.wrongThread) { try dispatcher.waitFor { 1 } }
        loop.shutdown()
        loop.shutdown()
        #expect(throws: LoopError.shutDown) { try dispatcher.run() }
        #expect(throws: LoopError.shutDown) { try dispatcher.waitFor { 1 } }
        // Work posted to a dead dispatcher still runs (fallback queue).
        let ran = try ThreadSignal()
        dispatcher.execute { ran.fire() }
        try await ran.wait()
    }
}

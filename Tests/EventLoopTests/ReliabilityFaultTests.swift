import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@testable import EventLoop

/// Fills the descriptor table of this (child) process: lowers the soft RLIMIT_NOFILE and
/// opens /dev/null until `open` fails. Returns the descriptors it opened and the errno.
private func exhaustDescriptors() -> (opened: [Int32], errno: Int32) {
    var limit = rlimit()
    _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    // A little above the highest descriptor open now, so that the table fills quickly.
    var highest: Int32 = 0
    for fd in 0..<Int32(min(limit.rlim_cur, 65_536)) where fcntl(fd, F_GETFD) >= 0 { highest = fd }
    limit.rlim_cur = rlim_t(highest + 32)
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    var opened: [Int32] = []
    while true {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return (opened, errno) }
        opened.append(fd)
    }
}

/// Opens descriptors until the table is full again: something in the process (the runtime,
/// the test harness) may close one at any time, and a single free slot is enough for a
/// ThreadSignal. Call right before each attempt that must fail.
private func refillDescriptorTable() -> [Int32] {
    var opened: [Int32] = []
    while true {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return opened }
        opened.append(fd)
    }
}

/// Ends the child process of an exit test when `condition` is false, with exit code `code`
/// (the parent reports the exit code; the child's stderr gets the message).
func check(_ condition: Bool, _ message: String, code: Int32) {
    guard !condition else { return }
    let line = "FAILED: \(message)\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    exit(code)
}

private func isEMFILE(_ error: any Error) -> Bool {
    guard let error = error as? LoopError else { return false }
    return error.code == .systemCall && error.errno == EMFILE && error.operation != nil
}

@Suite("Reliability: event loop faults", .stressTimeLimit)
struct ReliabilityLoopFaultTests {
    /// Descriptor exhaustion, in a child process so that parallel tests keep their table:
    /// LoopThread, Dispatcher.forCurrentThread and ThreadSignal throw LoopError .systemCall
    /// with errno EMFILE, naming the call; once descriptors are free again they work.
    @Test func descriptorExhaustionThrowsAClearErrorAndRecovers() async {
        // A failed check in the child exits with its own code (10…21, in source order).
        await #expect(processExitsWith: .success) {
            var (opened, error) = exhaustDescriptors()
            check(error == EMFILE, "open failed with errno \(error), not EMFILE", code: 10)
            do {
                opened += refillDescriptorTable()
                _ = try LoopThread(name: "no-fds")
                check(false, "LoopThread was created without descriptors", code: 11)
            } catch {
                check(isEMFILE(error), "LoopThread threw \(error)", code: 12)
                check(
                    "\(error)".contains("EMFILE") || "\(error)".contains("errno \(EMFILE)"), "message: \(error)",
                    code: 13)
            }
            opened += refillDescriptorTable()
            let thread = PlainThread {
                do {
                    _ = try Dispatcher.forCurrentThread()
                    check(false, "forCurrentThread created a dispatcher without descriptors", code: 14)
                } catch {
                    check(isEMFILE(error), "forCurrentThread threw \(error)", code: 15)
                }
                check(Dispatcher.current == nil, "a failed forCurrentThread left a dispatcher bound", code: 16)
            }
            thread.joinBlocking()
            do {
                opened += refillDescriptorTable()
                _ = try ThreadSignal()
                check(false, "ThreadSignal was created without descriptors", code: 17)
            } catch {
                check(isEMFILE(error), "ThreadSignal threw \(error)", code: 18)
            }
            // Free a few descriptors: everything works again.
            for fd in opened.suffix(4) { close(fd) }
            do {
                let signal = try ThreadSignal()
                signal.fire()
                check(signal.waitSync(timeout: .zero), "signal", code: 19)
                let loop = try LoopThread(name: "fds-again")
                let ran = try ThreadSignal()
                loop.dispatcher.execute { ran.fire() }
                check(ran.waitSync(timeout: nil), "loop runs", code: 20)
                loop.shutdown()
            } catch {
                check(false, "after freeing descriptors: \(error)", code: 21)
            }
        }
    }

    /// A descriptor closed while a task waits on it. Linux removes a closed descriptor from
    /// every epoll set silently, so no readiness event can ever arrive; the loop's descriptor
    /// audit notices (the number is closed, or now names another file) within about a second
    /// and fails the wait with EBADF. Afterwards the number can be waited on again.
    @Test func descriptorClosedWhileWaitedOnFailsTheWait() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        var pair: [Int32] = [0, 0]
        var otherPair: [Int32] = [0, 0]
        #expect(pipe(&pair) == 0 && pipe(&otherPair) == 0)
        let fds = pair
        let other = otherPair
        defer { for fd in fds + other { close(fd) } }
        let waiter = Task(executorPreference: dispatcher) {
            try await dispatcher.waitReadable(fds[0])
        }
        await waitUntilRegistered(fds[0], on: dispatcher)
        // Close the waited-on read end by putting another pipe's readable read end in its place
        // (dup2 closes the old description atomically, so no parallel test can grab the number).
        #expect(Glibc.write(other[1], "x", 1) == 1)
        #expect(dup2(other[0], fds[0]) == fds[0])
        // Readiness of the new description cannot reach the old registration; the audit
        // sees the number now names another file and fails the wait.
        await #expect {
            try await waiter.value
        } throws: { error in
            let error = error as? LoopError
            return error?.code == .badDescriptor && error?.errno == EBADF && error?.fd == fds[0]
        }
        // The registration is gone: the number (now the readable pipe) can be waited on.
        try await Task(executorPreference: dispatcher) { try await dispatcher.waitReadable(fds[0]) }.value
    }

    /// The writer side of a pipe closing while a task waits for readability wakes the task
    /// (EPOLLHUP): a hang-up is readiness.
    @Test func peerClosingWhileWaitedOnWakesTheWaiter() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        var pair: [Int32] = [0, 0]
        #expect(pipe(&pair) == 0)
        let fds = pair
        defer { close(fds[0]) }
        let waiter = Task(executorPreference: dispatcher) { try await dispatcher.waitReadable(fds[0]) }
        await waitUntilRegistered(fds[0], on: dispatcher)
        close(fds[1])
        try await waiter.value
    }

    /// A loop shut down while a sleep, a descriptor wait, a scheduled closure and ThreadSignal
    /// waiters (tasks preferring that loop) are pending: the loop's own waits fail with
    /// shutDown, the closure never runs, and the signal waiters — not tied to a loop — are
    /// still resumed by a fire, a cancellation or a close, on the fallback queue.
    @Test func shutdownWithEveryKindOfWaiterPendingHangsNothing() async throws {
        let loop = try LoopThread()
        let dispatcher = loop.dispatcher
        var pair: [Int32] = [0, 0]
        #expect(pipe(&pair) == 0)
        let fds = pair
        defer { for fd in fds { close(fd) } }
        let signal = try ThreadSignal()
        let cancelling = try ThreadSignal()
        let closing = try ThreadSignal()
        let sleeper = Task(executorPreference: dispatcher) { try await dispatcher.sleep(for: .seconds(86_400)) }
        let reader = Task(executorPreference: dispatcher) { try await dispatcher.waitReadable(fds[0]) }
        let fired = Task(executorPreference: dispatcher) { try await signal.wait() }
        let cancelled = Task(executorPreference: dispatcher) { try await cancelling.wait() }
        let closed = Task(executorPreference: dispatcher) { try await closing.wait() }
        let neverRuns = Counter()
        let scheduled = dispatcher.schedule(after: .seconds(86_400)) { neverRuns.add() }
        await waitUntilRegistered(fds[0], on: dispatcher)
        await waitUntil { await dispatcher.timerCount == 2 }
        loop.shutdown()
        await #expect(throws: LoopError.shutDown) { try await sleeper.value }
        await #expect(throws: LoopError.shutDown) { try await reader.value }
        signal.fire()
        try await fired.value
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        closing.close()
        await #expect(throws: LoopError.closed) { try await closed.value }
        #expect(scheduled.state == .shutDown)
        scheduled.cancel()
        #expect(neverRuns.value == 0)
    }

    /// `Dispatcher.stop()` called after the dispatcher shut down writes nothing: shown in a
    /// child process where the wake eventfd's number is handed to a file on purpose. (The
    /// descriptors are closed only when the dispatcher is freed, so a racing stop() during
    /// shutdown cannot hit a reused number either.)
    @Test func stopAfterShutdownDoesNotWriteToAReusedDescriptor() async {
        do {
            // A failed check in the child exits with its own code (10…21, in source order).
            await #expect(processExitsWith: .success) {
                let loop = try? LoopThread(name: "stopped")
                guard let loop else { exit(2) }
                let dispatcher = loop.dispatcher
                let wakeFD = dispatcher.selector.wakeFD
                loop.shutdown()
                let path = "/tmp/loopchannels-stop-\(getpid())"
                let file = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o600)
                unlink(path)
                check(dup2(file, wakeFD) == wakeFD, "dup2", code: 3)
                dispatcher.stop()
                var status = stat()
                fstat(file, &status)
                check(status.st_size == 0, "stop() wrote \(status.st_size) bytes to a reused descriptor", code: 1)
            }
        }
    }
}

extension Dispatcher {
    /// Armed timers in the heap (read on the loop thread).
    var timerCount: Int {
        get async {
            await withCheckedContinuation { continuation in
                execute { [self] in continuation.resume(returning: timers.count) }
            }
        }
    }

    /// Whether a waiter is registered for `fd` (read on the loop thread). Returning also
    /// means every job enqueued on the loop before this call has run (the loop is FIFO).
    func hasWaiter(on fd: Int32) async -> Bool {
        await withCheckedContinuation { continuation in
            execute { [self] in
                let registration = registrations[fd]
                continuation.resume(returning: registration?.reader != nil || registration?.writer != nil)
            }
        }
    }
}

/// Yields until the loop has registered a waiter for `fd` (an event, not a sleep).
func waitUntilRegistered(
    _ fd: Int32, on dispatcher: Dispatcher, sourceLocation: SourceLocation = #_sourceLocation
) async {
    await waitUntil("a waiter registered for fd \(fd)", sourceLocation: sourceLocation) {
        await dispatcher.hasWaiter(on: fd)
    }
}

import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// A non-blocking pipe, closed on deinit.
final class Pipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw LoopError.closed }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    func closeBoth() {
        close(readFD)
        close(writeFD)
    }

    func write(_ byte: UInt8) -> Int {
        var value = byte
        return Glibc.write(writeFD, &value, 1)
    }

    func read() -> Int {
        var buffer = [UInt8](repeating: 0, count: 65536)
        return Glibc.read(readFD, &buffer, buffer.count)
    }
}

@Suite("Descriptors", .stressTimeLimit)
struct DescriptorTests {
    @Test func pipeBecomesReadableWhenAPlainThreadWrites() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        let rounds = 200
        let total = await Task(executorPreference: dispatcher) { () throws -> Int in
            var total = 0
            for round in 0..<rounds {
                #expect(pipe.read() == -1)  // empty: EAGAIN
                _ = PlainThread { _ = pipe.write(UInt8(round % 256)) }
                try await dispatcher.waitReadable(pipe.readFD)
                #expect(dispatcher.inLoop)
                total += pipe.read()
            }
            return total
        }.result
        #expect(try total.get() == rounds)
    }

    @Test func fullPipeBecomesWritableWhenDrained() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        try await dispatcher.waitWritable(pipe.writeFD)  // empty pipe: writable at once
        while pipe.write(1) == 1 {}
        #expect(errno == EAGAIN)
        let waiting = Task { try await dispatcher.waitWritable(pipe.writeFD) }
        // Readers and writers of the same fd pair wait independently.
        let reader = Task { try await dispatcher.waitReadable(pipe.readFD) }
        try await reader.value
        #expect(pipe.read() > 0)
        try await waiting.value
    }

    @Test func badDescriptorsThrowAndTheLoopKeepsRunning() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher

        await #expect {
            try await dispatcher.waitReadable(-1)
        } throws: { ($0 as? LoopError)?.code == .badDescriptor && ($0 as? LoopError)?.fd == -1 }

        // A number past the descriptor table is closed for sure (a number just closed here
        // could be reused at once by a test running in parallel).
        let closedFD = Int32(getdtablesize()) + 7
        await #expect {
            try await dispatcher.waitReadable(closedFD)
        } throws: { error in
            let error = error as? LoopError
            return error?.code == .badDescriptor && error?.errno == EBADF && error?.fd == closedFD
        }

        let path = "/tmp/loopchannels-regular-\(getpid())"
        let file = open(path, O_CREAT | O_RDWR, 0o600)
        defer {
            close(file)
            unlink(path)
        }
        await #expect {
            try await dispatcher.waitWritable(file)
        } throws: { error in
            let error = error as? LoopError
            return error?.code == .badDescriptor && error?.errno == EPERM
                && error.map { "\($0)".contains("fd \(file)") } == true
        }
        // Still alive.
        #expect(await Task(executorPreference: dispatcher) { dispatcher.inLoop }.value)
    }

    @Test func secondWaiterForTheSameEventIsRejected() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        let outcome = await Task(executorPreference: dispatcher) { () -> String in
            let first = Task(executorPreference: dispatcher) { try await dispatcher.waitReadable(pipe.readFD) }
            await Task.yield()  // let `first` register (same loop, FIFO)
            do {
                try await dispatcher.waitReadable(pipe.readFD)
                return "second returned"
            } catch let error as LoopError {
                _ = pipe.write(1)
                do { try await first.value } catch { return "first failed: \(error)" }
                return "\(error.code)"
            } catch {
                return "\(error)"
            }
        }.value
        #expect(outcome == "alreadyWaiting")
    }

    @Test func descriptorWaitCancellation() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        for _ in 0..<100 {
            let task = Task { try await dispatcher.waitReadable(pipe.readFD) }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
        }
        // The registration was removed: a new waiter works.
        let waiter = Task { try await dispatcher.waitReadable(pipe.readFD) }
        _ = pipe.write(1)
        try await waiter.value
    }

    @Test func descriptorClosedWhileATaskWaitsFailsTheWait() async throws {
        let loop = try LoopThread()
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readFD, writeFD) = (fds[0], fds[1])
        defer { close(writeFD) }
        let waiting = Counter()
        let task = Task(executorPreference: dispatcher) { () -> LoopError? in
            waiting.add()
            do {
                try await dispatcher.waitReadable(readFD)
                return nil
            } catch {
                return error as? LoopError
            }
        }
        // Registered once the task has run on the loop and the loop ran another job after it.
        await waitUntil("the wait registered") { waiting.value != 0 }
        await withCheckedContinuation { continuation in dispatcher.execute { continuation.resume() } }
        // Closed behind the loop's back (the write end stays open: no hang-up event).
        close(readFD)
        let error = await task.value
        #expect(error?.code == .badDescriptor)
        #expect(error?.errno == EBADF)
        #expect(error?.fd == readFD)
    }
}

import AsyncChannels
import EventLoop
import Glibc
import Hatch
import Synchronization

/// A line-protocol TCP server on one event loop: each line `n` is answered with the `n`-th
/// prime, computed on a pool of plain worker threads.
///
/// All socket I/O happens on the loop, on non-blocking descriptors driven by
/// `Dispatcher.waitReadable`/`waitWritable`: one task accepts; per connection, a reader task
/// splits the bytes into lines and submits each request to the ``PrimeWorkers`` through an
/// `AsyncChannel`, and a writer task awaits each answer on its oneshot hatch, in request
/// order, and writes it back, coping with partial reads and writes.
///
/// Lifecycle: create it (binds the listener and starts the workers), run ``serve()`` in a
/// task on the dispatcher, call ``stop()`` from anywhere (a signal thread, a test), and when
/// `serve()` has returned call ``shutdownWorkers()`` from a plain thread.
///
/// Loop-owned: the stored properties marked so are touched only on the dispatcher's thread.
final class Server: @unchecked Sendable {
    /// How to run a server.
    struct Configuration: Sendable {
        /// The port on 127.0.0.1; 0 picks a free one (see ``Server/port``).
        var port: UInt16 = 0
        /// How many plain worker threads compute answers.
        var workers = 4
        /// How long a graceful stop waits for in-flight requests before cancelling them.
        var drainTimeout = Duration.seconds(5)
        /// `SO_SNDBUF` for accepted sockets, when set (the self-test shrinks it to force
        /// partial writes).
        var sendBuffer: Int32? = nil
        /// The longest request line accepted.
        var maxLineLength = 1024
    }

    /// What the server has done so far. Readable from any thread.
    final class Statistics: Sendable {
        let accepted = Atomic<Int>(0)
        let open = Atomic<Int>(0)
        let answered = Atomic<Int>(0)
        let errorLines = Atomic<Int>(0)
        /// Writes that hit `EAGAIN` and waited for `waitWritable`.
        let writeWaits = Atomic<Int>(0)
        /// Connections that ended with a read or write error (a reset, a broken pipe).
        let resets = Atomic<Int>(0)
    }

    let configuration: Configuration
    let dispatcher: Dispatcher
    /// The port the listener is bound to.
    let port: UInt16
    let statistics = Statistics()
    let pool: PrimeWorkers
    private let listener: Int32
    private let stopRequested: ThreadSignal

    /// One connection's task and whether it is idle, waiting for a request. Loop-owned.
    private final class Connection: @unchecked Sendable {
        var task: Task<Void, Never>?  // loop thread only
        var writer: Task<Void, Never>?  // loop thread only
        var isIdle = false  // loop thread only
    }
    /// Open connections by descriptor. Loop thread only.
    private var connections: [Int32: Connection] = [:]
    /// Set when a stop begins: connections finish the request in hand, then close. Loop
    /// thread only.
    private var draining = false

    /// Binds the listener and starts the worker threads; the server accepts nothing until
    /// ``serve()`` runs.
    /// - Throws: ``SocketError`` when the port cannot be bound; `LoopError` when the stop
    ///   signal cannot be created.
    init(_ configuration: Configuration, on dispatcher: Dispatcher) throws {
        self.configuration = configuration
        self.dispatcher = dispatcher
        (listener, port) = try Socket.listen(port: configuration.port)
        stopRequested = try ThreadSignal()
        pool = PrimeWorkers(count: configuration.workers)
    }

    /// Asks a running ``serve()`` to stop gracefully. Callable from any thread; never blocks.
    func stop() {
        stopRequested.fire()
    }

    /// Accepts and serves connections until ``stop()``, then stops gracefully: closes the
    /// listener, lets every connection finish the request in hand (up to
    /// `drainTimeout`, then cancels it), and returns when every connection is closed.
    ///
    /// Call it once, from a task running on ``dispatcher``.
    func serve() async {
        precondition(dispatcher.inLoop, "serve() runs on the server's dispatcher")
        let acceptor = Task(executorPreference: dispatcher) { [self] in await acceptConnections() }
        try? await stopRequested.wait()

        draining = true
        acceptor.cancel()
        await acceptor.value
        for connection in connections.values where connection.isIdle {
            connection.task?.cancel()  // nothing in hand: wake it from waitReadable
        }
        let deadline = dispatcher.schedule(after: configuration.drainTimeout) { [self] in
            for connection in connections.values {
                connection.task?.cancel()
                connection.writer?.cancel()
            }
        }
        while let connection = connections.values.first, let task = connection.task {
            await task.value  // the task removes itself
        }
        deadline.cancel()
        stopRequested.close()
    }

    /// Joins the worker threads; call it from a plain thread once ``serve()`` has returned.
    func shutdownWorkers() {
        pool.shutdown()
    }

    // MARK: Accepting

    private func acceptConnections() async {
        defer { close(listener) }
        while !Task.isCancelled {
            // Glibc's module does not export accept4: accept, then make it non-blocking.
            let fd = accept(listener, nil, nil)
            if fd >= 0 {
                Socket.makeNonBlocking(fd)
                open(fd)
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK:
                do { try await dispatcher.waitReadable(listener) } catch { return }  // cancelled: stopping
            case EINTR, ECONNABORTED:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: back off instead of spinning on the loop.
                report(SocketError(operation: "accept", errno: errno))
                do { try await dispatcher.sleep(for: .milliseconds(100)) } catch { return }
            default:
                report(SocketError(operation: "accept", errno: errno))
                return
            }
        }
    }

    private func open(_ fd: Int32) {
        if let bytes = configuration.sendBuffer { Socket.setSendBuffer(fd, bytes: bytes) }
        statistics.accepted.add(1, ordering: .relaxed)
        statistics.open.add(1, ordering: .relaxed)
        let connection = Connection()
        connections[fd] = connection
        // The task's first job runs after this one: it finds its entry in `connections`.
        connection.task = Task(executorPreference: dispatcher) { [self] in await serve(fd, connection) }
    }

    // MARK: One connection

    /// A reply in the order its request arrived: ready now, or being computed by a worker.
    private enum Reply: Sendable {
        case ready(String)
        case computing(HatchReceiver<Int>)
    }

    /// The connection's reading half, and then its cleanup. It submits each request line to
    /// the workers at once and queues the reply for the writing half, so a client may
    /// pipeline; the queue is bounded, so a client that sends faster than it reads stops
    /// being read (TCP pushes back on it).
    private func serve(_ fd: Int32, _ connection: Connection) async {
        let replies = try! BoundedAsyncChannel<Reply>(capacity: 32)  // capacity is valid
        let writer = Task(executorPreference: dispatcher) { [self] in await writeReplies(replies, to: fd) }
        connection.writer = writer
        let peerReset = await readRequests(fd, connection, into: replies)
        if peerReset {
            // Nobody will read the answers: stop waiting for them. Dropping their receivers
            // makes the workers discard the results (or skip jobs not yet started).
            writer.cancel()
        }
        replies.close()  // the writer answers what is queued, then ends
        await writer.value
        // Forget the descriptor before closing it: accept may reuse the number at once.
        connections[fd] = nil
        close(fd)
        statistics.open.subtract(1, ordering: .relaxed)
    }

    /// Reads and submits request lines until end of stream, a reset, a stop, or a writer
    /// that gave up. - Returns: true when the peer reset the connection.
    private func readRequests(_ fd: Int32, _ connection: Connection, into replies: BoundedAsyncChannel<Reply>) async
        -> Bool
    {
        var reader = LineReader(maxLength: configuration.maxLineLength)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while let line = reader.next() {
                do { try await replies.send(submit(line)) } catch { return false }  // writer gone, or cancelled
            }
            if reader.isFinished || draining { return false }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                chunk.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            } else if count == 0 {
                reader.finish()  // the client closed its side: answer what it sent, then close
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                connection.isIdle = true  // no request in hand: a stop may cancel this wait
                defer { connection.isIdle = false }
                do { try await dispatcher.waitReadable(fd) } catch { return false }  // cancelled: stopping
            } else if errno != EINTR {
                statistics.resets.add(1, ordering: .relaxed)
                return true
            }
        }
    }

    /// The reply to one request line: an error line now, or a job handed to the workers.
    private func submit(_ line: LineReader.Line) -> Reply {
        let request: Request
        switch line {
        case .tooLong: request = .malformed("line longer than \(configuration.maxLineLength) bytes")
        case .text(let text): request = Request(line: text)
        }
        switch request {
        case .malformed(let reason):
            statistics.errorLines.add(1, ordering: .relaxed)
            return .ready("error: \(reason)\n")
        case .prime(let n):
            let (reply, answer) = makeOneshot(of: Int.self)
            do {
                try pool.jobs.send(PrimeJob(n: n, reply: reply))
            } catch {
                return .ready("error: the server is shutting down\n")
            }
            return .computing(answer)
        }
    }

    /// The connection's writing half: awaits each reply in request order and writes it.
    /// Ends when the queue is closed and drained, when a write fails (then it closes the
    /// queue, so the reading half stops too), or when cancelled.
    private func writeReplies(_ replies: BoundedAsyncChannel<Reply>, to fd: Int32) async {
        while let reply = try? await replies.receive() {
            let text: String
            switch reply {
            case .ready(let line):
                text = line
            case .computing(let answer):
                guard let prime = try? await answer.receive() else { return }  // cancelled
                statistics.answered.add(1, ordering: .relaxed)
                text = "\(prime)\n"
            }
            guard await write(text, to: fd) else {
                replies.close()
                return
            }
        }
    }

    /// Writes all of `text`, waiting for writability whenever the socket buffer is full.
    /// - Returns: false when the peer is gone or the task was cancelled.
    private func write(_ text: String, to fd: Int32) async -> Bool {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                offset += count
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                statistics.writeWaits.add(1, ordering: .relaxed)
                do { try await dispatcher.waitWritable(fd) } catch { return false }
            } else if errno != EINTR {
                statistics.resets.add(1, ordering: .relaxed)
                return false
            }
        }
        return true
    }

    private func report(_ error: SocketError) {
        var line = "loop-server: \(error)\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

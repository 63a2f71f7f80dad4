import AsyncChannels
import EventLoop
import Glibc
import LoopThreadPool
import Synchronization

/// The connections one loop of the server serves, and the server's stop as that loop sees it.
///
/// A connection lives on one loop from hand-off to close. Two tasks serve it there: the
/// *reader* splits the bytes into lines, starts a task per request that has the pool compute
/// the prime (`ThreadPool.run`, which resumes it on this loop), and queues it in a bounded
/// per-connection channel; the *writer* awaits them in request order and writes the answers
/// back. Both cope with partial reads and writes.
///
/// Loop-owned: the stored properties marked so are touched only on `dispatcher`'s thread.
final class LoopConnections: @unchecked Sendable {
    let dispatcher: Dispatcher
    private let configuration: Server.Configuration
    private let statistics: Server.Statistics
    private let pool: ThreadPool
    /// The connections handed to this loop so far. Any thread, atomic (relaxed: a tally for
    /// the summary, ordered by nothing).
    let served = Atomic<Int>(0)

    /// One connection's tasks and whether its reader is idle, waiting for a request.
    private final class Connection: @unchecked Sendable {
        var task: Task<Void, Never>?  // loop thread only
        var writer: Task<Void, Never>?  // loop thread only
        var isIdle = false  // loop thread only
    }
    /// Open connections by descriptor. Loop thread only.
    private var connections: [Int32: Connection] = [:]
    /// Set when a stop begins: connections answer what they have read, then close. Loop
    /// thread only.
    private var draining = false

    init(
        on dispatcher: Dispatcher, configuration: Server.Configuration, statistics: Server.Statistics,
        pool: ThreadPool
    ) {
        self.dispatcher = dispatcher
        self.configuration = configuration
        self.statistics = statistics
        self.pool = pool
    }

    /// Starts serving `fd`, a connection the acceptor handed to this loop. Loop thread only.
    func open(_ fd: Int32) {
        precondition(dispatcher.inLoop, "a connection is opened on its own loop")
        served.add(1, ordering: .relaxed)
        let connection = Connection()
        connections[fd] = connection
        // The task's first job runs after this one: it finds its entry in `connections`.
        connection.task = Task(executorPreference: dispatcher) { [self] in await serve(fd, connection) }
    }

    /// Stops this loop's connections gracefully: cancels the readers that have no request
    /// in hand, lets the others answer what they have read (up to `drainTimeout`, then
    /// cancels them), and returns when every connection is closed. Loop thread only, once.
    func drain() async {
        precondition(dispatcher.inLoop, "a loop drains its connections on its own thread")
        draining = true
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
    }

    // MARK: One connection

    /// A request line, queued for the writer in the order it arrived.
    private enum Pending: Sendable {
        /// A malformed line: this error line is its answer.
        case errorLine(String)
        /// A valid line: a task on this loop that has the pool compute the prime.
        case computing(Task<Int, any Error>)
    }

    /// The connection's reading half, and then its cleanup.
    private func serve(_ fd: Int32, _ connection: Connection) async {
        let queue = try! BoundedAsyncChannel<Pending>(capacity: configuration.pipelineDepth)  // not negative
        let writer = Task(executorPreference: dispatcher) { [self] in await writeReplies(queue, to: fd) }
        connection.writer = writer
        let peerReset = await readRequests(fd, connection, into: queue)
        if peerReset {
            // Nobody will read the answers: stop waiting for them (the writer cancels the
            // computation it waits for, and the cleanup below the others).
            writer.cancel()
        }
        queue.close()  // the writer answers what is queued, then ends
        await writer.value
        // What the writer left behind will not be answered. Waiting for it means no job of
        // this connection outlives it.
        while let pending = queue.tryReceive() {
            if case .computing(let job) = pending { await settle(job) }
        }
        // Forget the descriptor before closing it: accept may reuse the number at once.
        connections[fd] = nil
        close(fd)
        // Releasing: the last thing this connection does (see `Statistics.open`).
        statistics.open.subtract(1, ordering: .releasing)
    }

    /// Reads and queues request lines until end of stream, a reset, a stop, or a writer
    /// that gave up. - Returns: true when the peer reset the connection.
    private func readRequests(_ fd: Int32, _ connection: Connection, into queue: BoundedAsyncChannel<Pending>)
        async -> Bool
    {
        var reader = LineReader(maxLength: configuration.maxLineLength)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while let line = reader.next() {
                let pending = start(line)
                do {
                    // Suspends while `pipelineDepth` requests wait: the client stops being read.
                    try await queue.send(pending)
                } catch {
                    // The writer is gone, or this task was cancelled.
                    if case .computing(let job) = pending { await settle(job) }
                    return false
                }
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

    /// The answer to one request line: an error line now, or a computation started at once,
    /// so that the requests a client pipelines are computed side by side.
    private func start(_ line: LineReader.Line) -> Pending {
        let request: Request
        switch line {
        case .tooLong: request = .malformed("line longer than \(configuration.maxLineLength) bytes")
        case .text(let text): request = Request(line: text)
        }
        switch request {
        case .malformed(let reason):
            statistics.errorLines.add(1, ordering: .relaxed)
            return .errorLine("error: \(reason)\n")
        case .prime(let n):
            statistics.requests.add(1, ordering: .relaxed)
            let (pool, statistics) = (pool, statistics)
            // `run` resumes this task on this loop. Cancelled before a worker takes the job,
            // it throws `CancellationError` and the job never runs.
            return .computing(
                Task(executorPreference: dispatcher) {
                    try await pool.run {
                        statistics.computed.add(1, ordering: .relaxed)
                        return nthPrime(n)
                    }
                })
        }
    }

    /// The connection's writing half: awaits each answer in request order and writes it.
    /// Ends when the queue is closed and drained, when a write fails (then it closes the
    /// queue, so the reading half stops too), or when cancelled.
    private func writeReplies(_ queue: BoundedAsyncChannel<Pending>, to fd: Int32) async {
        while !Task.isCancelled, let pending = try? await queue.receive() {
            let text: String
            let isAnswer: Bool
            switch pending {
            case .errorLine(let line):
                (text, isAnswer) = (line, false)
            case .computing(let job):
                let result = await withTaskCancellationHandler {
                    await job.result
                } onCancel: {
                    job.cancel()
                }
                guard case .success(let prime) = result, !Task.isCancelled else {
                    count(unwritten: result)
                    return
                }
                (text, isAnswer) = ("\(prime)\n", true)
            }
            guard await write(text, to: fd) else {
                if isAnswer { statistics.discarded.add(1, ordering: .relaxed) }
                queue.close()
                return
            }
            if isAnswer { statistics.answered.add(1, ordering: .relaxed) }
        }
    }

    /// Cancels a computation whose answer will not be written, waits for it, and counts it.
    private func settle(_ job: Task<Int, any Error>) async {
        job.cancel()
        count(unwritten: await job.result)
    }

    /// Counts a prime request whose answer is not written: computed and discarded, or never
    /// computed. The pool's `run` threw `CancellationError`: no worker had taken the job, and
    /// none will (`ThreadPoolError.shutDown` cannot come: the pool shuts down after
    /// `serve()` has returned).
    private func count(unwritten result: Result<Int, any Error>) {
        switch result {
        case .success: statistics.discarded.add(1, ordering: .relaxed)
        case .failure: statistics.skipped.add(1, ordering: .relaxed)
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
}

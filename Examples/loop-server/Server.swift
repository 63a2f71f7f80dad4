import EventLoop
import Glibc
import LoopThreadPool
import Synchronization

/// A line-protocol TCP server on a group of event loops: each line `n` is answered with the
/// `n`-th prime, computed on a thread pool.
///
/// One task accepts on one listener and hands each connection to the next loop of a
/// `LoopGroup`, round robin; from then on everything of that connection happens on that
/// loop (see ``LoopConnections``). All socket I/O is non-blocking, driven by
/// `Dispatcher.waitReadable`/`waitWritable`; the CPU work goes to a `ThreadPool` with
/// `run`, which resumes the connection's task on its own loop.
///
/// Lifecycle: create it (binds the listener), run ``serve()`` in a task, call ``stop()``
/// from anywhere (a signal's task, a test); `serve()` returns once every connection is
/// closed. The group and the pool belong to the caller, who shuts them down afterwards.
final class Server: Sendable {
    /// How to run a server.
    struct Configuration: Sendable {
        /// The port on 127.0.0.1; 0 picks a free one (see ``Server/port``).
        var port: UInt16 = 0
        /// How long a graceful stop waits for in-flight requests before cancelling them.
        var drainTimeout = Duration.seconds(5)
        /// `SO_SNDBUF` for accepted sockets, when set (the self-test shrinks it to force
        /// partial writes).
        var sendBuffer: Int32? = nil
        /// The longest request line accepted.
        var maxLineLength = 1024
        /// The most parsed requests a connection queues ahead of its writer: a client that
        /// pipelines more stops being read, and TCP pushes back on it.
        var pipelineDepth = 32
    }

    /// What the server has done so far. Readable from any thread. Every counter is a relaxed
    /// tally, except ``open`` (see there).
    final class Statistics: Sendable {
        let accepted = Atomic<Int>(0)
        /// Connections accepted and not yet closed. Decremented with releasing ordering, and
        /// every other change to it is a read-modify-write, so an acquiring load that reads
        /// 0 sees everything each closed connection did before it closed.
        let open = Atomic<Int>(0)
        /// Prime requests queued for a connection's writer.
        let requests = Atomic<Int>(0)
        /// Prime requests a pool worker computed (counted on the worker thread).
        let computed = Atomic<Int>(0)
        /// Answers written.
        let answered = Atomic<Int>(0)
        /// Answers computed but never written: the client reset, the write failed, or the
        /// stop ran out of time.
        let discarded = Atomic<Int>(0)
        /// Prime requests of closed connections that no worker computed: cancelled before a
        /// worker took the job, or still queued behind it.
        let skipped = Atomic<Int>(0)
        let errorLines = Atomic<Int>(0)
        /// Writes that hit `EAGAIN` and waited for `waitWritable`.
        let writeWaits = Atomic<Int>(0)
        /// Connections that ended with a read or write error (a reset, a broken pipe).
        let resets = Atomic<Int>(0)
    }

    let configuration: Configuration
    /// The loops that serve the connections; the first also runs the acceptor.
    let group: LoopGroup
    /// The threads that compute the answers.
    let pool: ThreadPool
    /// The port the listener is bound to.
    let port: UInt16
    let statistics: Statistics
    /// The connections of each loop, in the order of `group.dispatchers`.
    let loops: [LoopConnections]
    /// `loops` by the identity of their dispatcher, to find the one `group.next()` picked.
    private let loopsByDispatcher: [Dispatcher: LoopConnections]
    private let listener: Int32
    private let stopRequested: ThreadSignal

    /// Binds the listener; the server accepts nothing until ``serve()`` runs.
    /// - Parameters:
    ///   - group: the loops that serve the connections, one connection on one loop.
    ///   - pool: the threads that compute the answers.
    /// - Throws: ``SocketError`` when the port cannot be bound; `LoopError` when the stop
    ///   signal cannot be created.
    init(_ configuration: Configuration, group: LoopGroup, pool: ThreadPool) throws {
        self.configuration = configuration
        self.group = group
        self.pool = pool
        stopRequested = try ThreadSignal()
        (listener, port) = try Socket.listen(port: configuration.port)
        let statistics = Statistics()
        self.statistics = statistics
        loops = group.dispatchers.map { dispatcher in
            LoopConnections(on: dispatcher, configuration: configuration, statistics: statistics, pool: pool)
        }
        loopsByDispatcher = Dictionary(uniqueKeysWithValues: loops.map { ($0.dispatcher, $0) })
    }

    /// Asks a running ``serve()`` to stop gracefully. Callable from any thread; never blocks.
    func stop() {
        stopRequested.fire()
    }

    /// Accepts and serves connections until ``stop()``, then stops gracefully: closes the
    /// listener, lets every connection finish the requests it has read (up to
    /// `drainTimeout`, then cancels it), and returns when every connection is closed.
    ///
    /// Call it once, from any task.
    func serve() async {
        let acceptingLoop = group.dispatchers[0]
        let acceptor = Task(executorPreference: acceptingLoop) { [self] in await acceptConnections(on: acceptingLoop) }
        try? await stopRequested.wait()

        acceptor.cancel()
        await acceptor.value
        // The acceptor posted every hand-off before it ended, and a loop runs what was posted
        // to it in that order: each loop has opened all its connections before it drains.
        await withTaskGroup(of: Void.self) { drains in
            for connections in loops {
                drains.addTask(executorPreference: connections.dispatcher) { await connections.drain() }
            }
        }
        stopRequested.close()
    }

    // MARK: Accepting

    /// The one acceptor: accepts until cancelled and hands each connection to the loop
    /// `group.next()` names. Runs on `dispatcher`, the loop it waits on.
    private func acceptConnections(on dispatcher: Dispatcher) async {
        defer { close(listener) }
        while !Task.isCancelled {
            // Glibc's module does not export accept4: accept, then make it non-blocking.
            let fd = accept(listener, nil, nil)
            if fd >= 0 {
                Socket.makeNonBlocking(fd)
                handOff(fd)
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

    /// Gives `fd` to the next loop: one cross-loop hop per connection, none per request.
    private func handOff(_ fd: Int32) {
        if let bytes = configuration.sendBuffer { Socket.setSendBuffer(fd, bytes: bytes) }
        statistics.accepted.add(1, ordering: .relaxed)
        statistics.open.add(1, ordering: .relaxed)
        let dispatcher = group.next()
        guard let connections = loopsByDispatcher[dispatcher] else {
            preconditionFailure("group.next() returned a dispatcher that is not in group.dispatchers")
        }
        dispatcher.execute { connections.open(fd) }
    }

    private func report(_ error: SocketError) {
        var line = "loop-server: \(error)\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

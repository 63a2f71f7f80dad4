import EventLoop
import Glibc
import LoopThreadPool
import Synchronization

/// The `server-lines` server on our types: a `LoopGroup` for the sockets, a `ThreadPool`
/// for the primes.
///
/// One task on `group.next()` accepts; each accepted connection is served by one task on
/// the next loop in turn (round robin, as NIO's `ServerBootstrap` spreads child channels
/// over its group). A connection's task reads, splits the bytes into lines, awaits each
/// answer from `pool.run { nthPrime(n) }` in order, and writes the replies to one read's
/// lines with one `send`. Sockets are non-blocking, driven by `waitReadable` and
/// `waitWritable`.
final class LoopLineServer: Sendable {
    let group: LoopGroup
    let pool: ThreadPool
    /// The port the listener is bound to on 127.0.0.1.
    let port: UInt16
    private let acceptor: Task<Void, Never>
    private let tally: Tally

    /// What the acceptor and the connection tasks report to ``stop()``.
    private final class Tally: Sendable {
        /// Connections accepted so far. Atomic; relaxed is enough: `stop()` reads it only
        /// once every client has been answered on its connection, which orders the count.
        let accepted = Atomic<Int>(0)
        /// One part per finished task: the acceptor's, then each connection's.
        let finished = Completion()
    }

    /// Starts the loops, the pool threads and the acceptor, listening on a free port.
    /// - Throws: `LoopError`, `ThreadPoolError` or ``BenchError`` when a thread or the
    ///   listener cannot be created.
    init(loops: Int, threads: Int) throws {
        let group = try LoopGroup(loops: loops, name: "srv-loop")
        let pool = try ThreadPool(threads: threads, name: "srv-pool")
        let (listener, port) = try BenchSocket.listen()
        let tally = Tally()
        let dispatcher = group.next()
        acceptor = Task(executorPreference: dispatcher) {
            await Self.accept(on: listener, dispatcher, group: group, pool: pool, tally: tally)
        }
        self.group = group
        self.pool = pool
        self.port = port
        self.tally = tally
    }

    /// Stops accepting, waits for every connection task to end (their clients must have
    /// closed their sockets), then shuts the pool and the loops down. Call it once, from a
    /// plain thread.
    /// - Throws: ``BenchError`` when a task does not end in time.
    func stop() throws {
        acceptor.cancel()
        defer {
            pool.shutdown()
            group.shutdown()
        }
        // Every client connected and was answered before this call: no more accepts come.
        let accepted = tally.accepted.load(ordering: .relaxed)
        try tally.finished.wait(parts: 1 + accepted, timeout: .seconds(30))
    }

    /// The acceptor: accepts until cancelled, and starts each connection's task on the next
    /// loop. Closes the listener when it ends.
    private static func accept(
        on listener: Int32, _ dispatcher: Dispatcher, group: LoopGroup, pool: ThreadPool, tally: Tally
    ) async {
        defer {
            close(listener)
            tally.finished.finish()
        }
        while !Task.isCancelled {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                BenchSocket.makeNonBlocking(fd)
                BenchSocket.setNoDelay(fd)
                tally.accepted.add(1, ordering: .relaxed)
                let loop = group.next()
                Task(executorPreference: loop) {
                    await serve(fd, on: loop, pool: pool)
                    tally.finished.finish()
                }
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK:
                do { try await dispatcher.waitReadable(listener) } catch { return }  // cancelled: stopping
            case EINTR, ECONNABORTED:
                continue
            default:
                return
            }
        }
    }

    /// Serves one connection until the client closes it (or it fails), then closes it.
    private static func serve(_ fd: Int32, on dispatcher: Dispatcher, pool: ThreadPool) async {
        defer { close(fd) }
        var input = [UInt8](repeating: 0, count: 4096)
        var held = 0  // bytes in `input` not yet consumed: part of a line
        var discarding = false  // skipping the rest of a line that was too long
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        while true {
            // held < input.count (compaction below leaves at most maxLineLength bytes), so the
            // read targets the free tail of the buffer and `space` > 0.
            let space = input.count - held
            let count = input.withUnsafeMutableBytes { read(fd, $0.baseAddress! + held, space) }
            if count > 0 {
                held += count
                var start = 0
                while let newline = input[start..<held].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = start..<newline
                    start = newline + 1
                    if discarding {
                        discarding = false
                        continue
                    }
                    let request =
                        line.count > LineProtocol.maxLineLength
                        ? .malformed(LineProtocol.tooLong)
                        : input.withUnsafeBytes { LineProtocol.parse(UnsafeRawBufferPointer(rebasing: $0[line])) }
                    await answer(request, pool: pool, into: &output)
                }
                if held - start > LineProtocol.maxLineLength {
                    if !discarding { await answer(.malformed(LineProtocol.tooLong), pool: pool, into: &output) }
                    discarding = true
                    start = held
                }
                if start > 0 {
                    // start <= held <= input.count: move the partial line to the front
                    // (copyMemory is a memmove, so the ranges may overlap).
                    input.withUnsafeMutableBytes { bytes in
                        bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<held]))
                    }
                    held -= start
                }
                if !output.isEmpty {
                    guard await write(output, to: fd, on: dispatcher) else { return }
                    output.removeAll(keepingCapacity: true)
                }
                // A read that did not fill the buffer has drained the socket: wait rather than
                // read again for EAGAIN (NIO's stream channels stop reading there too).
                if count < space {
                    do { try await dispatcher.waitReadable(fd) } catch { return }
                }
            } else if count == 0 {
                return  // the client closed its side
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                do { try await dispatcher.waitReadable(fd) } catch { return }
            } else if errno != EINTR {
                return
            }
        }
    }

    /// Appends the reply to `request` to `output`, computing a prime on the pool.
    private static func answer(_ request: LineProtocol.Request, pool: ThreadPool, into output: inout [UInt8]) async {
        switch request {
        case .prime(let n):
            guard let prime = try? await pool.run({ nthPrime(n) }) else {
                output.append(contentsOf: "error: the server is shutting down\n".utf8)
                return
            }
            withUnsafeTemporaryAllocation(byteCount: 24, alignment: 1) { digits in
                let length = LineProtocol.formatReply(prime, into: digits)
                output.append(contentsOf: digits[..<length])
            }
        case .malformed(let line):
            line.withUTF8Buffer { output.append(contentsOf: $0) }
        }
    }

    /// Writes all of `bytes`, waiting for writability when the socket buffer is full.
    /// - Returns: false when the connection failed.
    private static func write(_ bytes: [UInt8], to fd: Int32, on dispatcher: Dispatcher) async -> Bool {
        var offset = 0
        while offset < bytes.count {  // offset < count: the pointer stays inside the array
            let count = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                offset += count
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                do { try await dispatcher.waitWritable(fd) } catch { return false }
            } else if errno != EINTR {
                return false
            }
        }
        return true
    }
}

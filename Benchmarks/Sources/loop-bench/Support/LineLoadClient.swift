import Dispatch
import Glibc

/// The load client of `server-lines`, the same for every server: ``connections`` TCP
/// connections, each driven by its own plain thread with a blocking socket, request/reply
/// (one request in flight per connection, so at most ``connections`` at the server).
///
/// Every reply is checked against primes from a sieve (a wrong or missing answer fails
/// the run), and every request is timed from just before its `send` to the end of its
/// reply line. The client allocates nothing per request, so allocs/op is the server's.
enum LineLoadClient {
    /// Connections, each with its own client thread.
    static let connections = 16
    /// Requests ask for the `n`-th prime with `n` in `1...maxN`: small enough that the
    /// server path, not the computation, dominates a request.
    static let maxN = 100
    /// The answers, by `n - 1`, from a sieve.
    static let primes = sievePrimes(count: maxN)

    /// The `n` of request `index` on connection `connection`: all of `1...maxN`, in a
    /// different order on each connection.
    static func n(connection: Int, index: Int) -> Int {
        1 + (connection &* 37 &+ index &* 13) % maxN
    }

    /// Connects to the server on 127.0.0.1:`port`, checks each connection with a malformed
    /// line and a request (not timed), then sends `context.operations` requests spread over
    /// the connections inside `context.measure`, and closes the connections.
    /// - Returns: every request's latency in nanoseconds.
    /// - Throws: ``BenchError`` when a connection fails or an answer is wrong or missing.
    static func run(_ context: RunContext, port: UInt16) throws -> [Int64] {
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        for _ in 0..<connections {
            let fd = try BenchSocket.connect(port: port)
            sockets.append(fd)
            try check(fd, request: "x\n", answer: { $0.hasPrefix("error: ") }, "a malformed line")
            try check(fd, request: "1\n", answer: { $0 == "2" }, "request 1")
        }

        let total = context.operations
        let start = DispatchSemaphore(value: 0)
        let runs = (0..<connections).map { connection in
            let count = total / connections + (connection < total % connections ? 1 : 0)
            return Confined(ConnectionRun(latencies: [Int64](repeating: 0, count: count)))
        }
        let threads = (0..<connections).map { connection in
            let fd = sockets[connection]
            let run = runs[connection]
            return PlainThread {
                start.wait()
                run.value.failure = drive(fd, connection: connection, latencies: &run.value.latencies)
            }
        }
        try context.measure {
            for _ in threads { start.signal() }
            for thread in threads { thread.join() }
        }
        if let failure = runs.lazy.compactMap(\.value.failure).first { throw BenchError(failure) }
        return runs.flatMap(\.value.latencies)
    }

    /// One connection's results, written by its thread and read after the join.
    struct ConnectionRun {
        var latencies: [Int64]
        var failure: String?
    }

    /// Sends `latencies.count` requests one after the other on the blocking socket `fd`
    /// and records each one's latency. - Returns: why it stopped early, or nil.
    private static func drive(_ fd: Int32, connection: Int, latencies: inout [Int64]) -> String? {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { request in
            withUnsafeTemporaryAllocation(byteCount: 256, alignment: 1) { reply in
                var reader = ReplyReader(buffer: reply)
                for index in latencies.indices {
                    let n = n(connection: connection, index: index)
                    let length = LineProtocol.formatReply(n, into: request)
                    let sent = monotonicNanoseconds()
                    if let failure = sendAll(fd, UnsafeRawBufferPointer(rebasing: request[..<length])) {
                        return failure
                    }
                    let answer: Int
                    switch reader.nextNumber(fd) {
                    case .number(let value): answer = value
                    case .failure(let failure): return "request \(n) on connection \(connection): \(failure)"
                    }
                    latencies[index] = monotonicNanoseconds() - sent
                    guard answer == primes[n - 1] else {
                        return "request \(n) on connection \(connection) was answered \(answer), not \(primes[n - 1])"
                    }
                }
                return nil
            }
        }
    }

    /// Sends `text` and checks its reply line (set-up, not timed).
    private static func check(_ fd: Int32, request text: String, answer: (String) -> Bool, _ what: String) throws {
        var text = text
        if let failure = text.withUTF8({ sendAll(fd, UnsafeRawBufferPointer($0)) }) { throw BenchError(failure) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while byte != UInt8(ascii: "\n") {
            guard recv(fd, &byte, 1, 0) == 1 else {
                throw BenchError("no reply to \(what): \(String(cString: strerror(errno)))")
            }
            if byte != UInt8(ascii: "\n") { line.append(byte) }
        }
        let reply = String(decoding: line, as: UTF8.self)
        try BenchError.check(answer(reply), "\(what) was answered '\(reply)'")
    }

    private static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset < bytes.count {  // offset < count: the pointer stays inside `bytes`
            let count = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if count > 0 {
                offset += count
            } else if count < 0 && errno != EINTR {
                return "send failed: \(String(cString: strerror(errno)))"
            }
        }
        return nil
    }
}

/// Reads reply lines of decimal numbers from a blocking socket into a fixed buffer.
private struct ReplyReader {
    enum Next {
        case number(Int)
        case failure(String)
    }

    /// The caller's buffer; valid for as long as this reader is used.
    let buffer: UnsafeMutableRawBufferPointer
    /// 0 <= start <= end <= buffer.count: `buffer[start..<end]` holds the bytes received
    /// and not yet consumed.
    var start = 0
    var end = 0

    /// The next reply line as a number, reading as needed. Allocates nothing unless it fails.
    mutating func nextNumber(_ fd: Int32) -> Next {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                let line = UnsafeRawBufferPointer(rebasing: buffer[start..<newline])
                start = newline + 1
                var value = 0
                for byte in line {
                    guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), line.count <= 18 else {
                        return .failure("answered '\(String(decoding: line.prefix(60), as: UTF8.self))'")
                    }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return line.isEmpty ? .failure("answered an empty line") : .number(value)
            }
            if start == end {
                start = 0
                end = 0
            } else if end == buffer.count {
                guard start > 0 else { return .failure("a reply line longer than \(buffer.count) bytes") }
                // A memmove: the ranges may overlap.
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
                end -= start
                start = 0
            }
            let count = recv(fd, buffer.baseAddress! + end, buffer.count - end, 0)
            if count > 0 {
                end += count
            } else if count == 0 {
                return .failure("the server closed the connection")
            } else if errno != EINTR {
                return .failure("no reply: \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// CLOCK_MONOTONIC in nanoseconds (a vDSO call, no system call).
func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

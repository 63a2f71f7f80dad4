import Glibc

/// A response as the self-test's client read it.
struct HTTPReply: Equatable, CustomStringConvertible {
    let status: Int
    let body: String

    var description: String { "\(status) \(body.debugDescription)" }
}

/// A failed `connect`, with its `errno`.
struct ConnectError: Error, CustomStringConvertible {
    let port: UInt16
    let errno: Int32

    var description: String { "connect to 127.0.0.1:\(port) failed: errno \(errno)" }
}

/// A blocking HTTP/1.1 client connection to 127.0.0.1, on a plain socket: one thread owns
/// it. Requests go out as written here, byte for byte; responses are read by their
/// `Content-Length`.
final class HTTPConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads time out after 20 s (the watchdog's business
    /// after that).
    /// - Throws: ``SelfTestError`` or ``ConnectError`` with the `errno` of the failed call.
    init(port: UInt16) throws {
        fd = try Self.connect(port: port)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// A connected TCP socket to 127.0.0.1:`port`.
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SelfTestError("socket failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw ConnectError(port: port, errno: error)
        }
        return fd
    }

    /// Whether a connection to 127.0.0.1:`port` is refused (nothing listens there).
    static func isRefused(port: UInt16) -> Bool {
        do {
            close(try connect(port: port))
            return false
        } catch let error as ConnectError {
            return error.errno == ECONNREFUSED
        } catch {
            return false
        }
    }

    /// Sends a request and reads its response.
    func request(_ method: String, _ target: String, body: [UInt8] = []) -> HTTPReply? {
        guard send(head(method, target, contentLength: body.count) + body) else { return nil }
        return readResponse()
    }

    /// The request line and headers of a request with a body of `contentLength` bytes.
    func head(_ method: String, _ target: String, contentLength: Int) -> [UInt8] {
        Array("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(contentLength)\r\n\r\n".utf8)
    }

    /// Writes all of `bytes`; false on error.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno != EINTR { return false }
            offset += max(count, 0)
        }
        return true
    }

    /// The next response: status line, headers up to the blank line, and a body of
    /// `Content-Length` bytes (none without that header). Nil on end of stream, error or
    /// timeout, or when the response cannot be parsed.
    func readResponse() -> HTTPReply? {
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if let found = buffer.firstRange(of: separator) {
                headEnd = found.upperBound
            } else if !fill() {
                return nil
            }
        }
        guard let headEnd else { return nil }
        let lines = String(decoding: buffer[..<headEnd], as: UTF8.self).split(separator: "\r\n")
        let statusWords = lines.first?.split(separator: " ") ?? []
        guard statusWords.count >= 2, statusWords[0] == "HTTP/1.1", let status = Int(statusWords[1]) else {
            return nil
        }
        var contentLength = 0
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                contentLength = Int(parts[1].trimmingPrefix(" ")) ?? 0
            }
        }
        while buffer.count < headEnd + contentLength {
            guard fill() else { return nil }
        }
        let body = String(decoding: buffer[headEnd..<(headEnd + contentLength)], as: UTF8.self)
        buffer.removeFirst(headEnd + contentLength)
        return HTTPReply(status: status, body: body)
    }

    /// Whether the server has closed the connection: the next read sees end of stream (or a
    /// reset) with no byte before it.
    func readsEndOfStream() -> Bool {
        guard buffer.isEmpty else { return false }
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            return count == 0 || (count < 0 && errno == ECONNRESET)
        }
    }

    /// Reads more bytes into the buffer; false on end of stream, error or timeout.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                return true
            }
            if count < 0 && errno == EINTR { continue }
            return false
        }
    }
}

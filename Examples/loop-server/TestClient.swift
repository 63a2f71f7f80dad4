import Glibc

/// A blocking line client for the self-test: one thread owns it.
final class TestClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    /// Connects to 127.0.0.1:`port`; reads time out after 30 s.
    /// - Parameter receiveBuffer: a small `SO_RCVBUF`, to make the server's writes block.
    init(port: UInt16, receiveBuffer: Int32? = nil) throws {
        fd = try Socket.connect(port: port, receiveBuffer: receiveBuffer)
    }

    deinit { if !closed { close(fd) } }

    /// Writes all of `text`; false on error.
    @discardableResult
    func send(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno != EINTR { return false }
            offset += max(count, 0)
        }
        return true
    }

    /// Writes `text` one byte per system call, pausing `pause` between bytes.
    @discardableResult
    func sendSlowly(_ text: String, pause: Duration = .milliseconds(1)) -> Bool {
        for byte in text.utf8 {
            guard send(String(decoding: [byte], as: UTF8.self)) else { return false }
            sleep(for: pause)
        }
        return true
    }

    /// The next line without its newline, or nil on end of stream, error or timeout.
    func readLine() -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return nil
            }
        }
    }

    /// Closes the connection with a reset (no orderly shutdown): an abrupt disconnect.
    func abort() {
        closed = true
        Socket.abort(fd)
    }
}

/// Blocks the calling plain thread for `duration`.
func sleep(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

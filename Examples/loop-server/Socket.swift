import Glibc

/// A failed socket call: which one, and the `errno` it reported.
struct SocketError: Error, CustomStringConvertible {
    let operation: String
    let errno: Int32

    var description: String { "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The few socket calls the server and its self-test make, on Glibc. Platform code only.
enum Socket {
    /// Opens a non-blocking TCP listener on 127.0.0.1.
    /// - Parameter port: the port; 0 lets the kernel pick a free one.
    /// - Returns: the listening descriptor and the port it is bound to.
    /// - Throws: ``SocketError`` naming the call that failed (the descriptor is closed).
    static func listen(port: UInt16) throws(SocketError) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        do {
            var one: Int32 = 1
            try check("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            var address = loopback(port: port)
            try check("bind") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            try check("listen") { Glibc.listen(fd, 1024) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try check("getsockname") {
                withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
                }
            }
            return (fd, UInt16(bigEndian: address.sin_port))
        } catch {
            close(fd)
            throw error
        }
    }

    /// Opens a blocking TCP connection to 127.0.0.1:`port` (the self-test's clients).
    /// - Parameter receiveBuffer: a small `SO_RCVBUF` to set before connecting, if any.
    static func connect(port: UInt16, receiveBuffer: Int32? = nil) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        do {
            if var size = receiveBuffer {
                try check("setsockopt(SO_RCVBUF)") {
                    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            var timeout = timeval(tv_sec: 30, tv_usec: 0)  // a hung test fails instead of hanging
            try check("setsockopt(SO_RCVTIMEO)") {
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            }
            var one: Int32 = 1
            try check("setsockopt(TCP_NODELAY)") {
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            var address = loopback(port: port)
            try check("connect") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Whether a connection to 127.0.0.1:`port` can be made now (it is closed at once).
    static func probe(port: UInt16) -> Bool {
        guard let fd = try? connect(port: port) else { return false }
        close(fd)
        return true
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on an accepted descriptor.
    static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// Sets `SO_SNDBUF` (the kernel doubles it); the self-test shrinks it to force partial writes.
    static func setSendBuffer(_ fd: Int32, bytes: Int32) {
        var size = bytes
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes with a reset instead of an orderly FIN (`SO_LINGER` of 0): an abrupt disconnect.
    static func abort(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func check(_ operation: String, _ call: () -> Int32) throws(SocketError) {
        guard call() == 0 else { throw SocketError(operation: operation, errno: errno) }
    }
}

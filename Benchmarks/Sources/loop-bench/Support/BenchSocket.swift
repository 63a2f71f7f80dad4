import Glibc

/// The few TCP calls of the `server-lines` scenario, on Glibc and 127.0.0.1 only.
enum BenchSocket {
    /// Opens a non-blocking listener on 127.0.0.1 on a free port.
    /// - Returns: the descriptor and the port the kernel picked.
    /// - Throws: ``BenchError`` naming the call that failed (the descriptor is closed).
    static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        try check(fd >= 0, "socket")
        do {
            var one: Int32 = 1
            try check(
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0, "setsockopt")
            var address = loopback(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try check(bound == 0, "bind")
            try check(Glibc.listen(fd, 1024) == 0, "listen")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            try check(named == 0, "getsockname")
            return (fd, UInt16(bigEndian: address.sin_port))
        } catch {
            close(fd)
            throw error
        }
    }

    /// Opens a blocking connection to 127.0.0.1:`port` with `TCP_NODELAY`, and a 30 s
    /// receive timeout so that a lost reply fails the run instead of hanging it.
    /// - Throws: ``BenchError`` naming the call that failed (the descriptor is closed).
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        try check(fd >= 0, "socket")
        do {
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            try check(
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0,
                "setsockopt(SO_RCVTIMEO)")
            setNoDelay(fd)
            var address = loopback(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try check(connected == 0, "connect")
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Sets `TCP_NODELAY`: request/reply traffic must not wait for Nagle's algorithm.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on an accepted descriptor (Glibc's module does not
    /// export `accept4`).
    static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func check(_ succeeded: Bool, _ call: String) throws {
        if !succeeded { throw BenchError("\(call) failed: \(String(cString: strerror(errno)))") }
    }
}

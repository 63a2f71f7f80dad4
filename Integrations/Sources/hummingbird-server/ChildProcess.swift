import Glibc

/// This executable started again as a child process, its stdout read through a pipe: the
/// self-test's server. The parent owns it from one task at a time.
final class ChildProcess {
    let pid: pid_t
    /// The read end of the child's stdout.
    private let output: Int32
    private var buffer: [UInt8] = []

    /// Spawns `/proc/self/exe` with `arguments`; its stdin and stderr are the parent's.
    /// - Throws: ``SelfTestError`` with the `errno` when the pipe or the spawn fails.
    init(arguments: [String]) throws {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { throw SelfTestError("pipe failed: errno \(errno)") }
        // Close-on-exec on both ends: the child gets the write end only as its fd 1 (dup2
        // clears the flag there), so the read end sees end of stream once the child is gone.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)

        let path = "/proc/self/exe"
        var argv: [UnsafeMutablePointer<CChar>?] = ([CommandLine.arguments[0]] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for argument in argv { free(argument) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard result == 0 else {
            close(pipeEnds[0])
            throw SelfTestError("posix_spawn \(path) failed: errno \(result)")
        }
        pid = child
        output = pipeEnds[0]
    }

    deinit { close(output) }

    /// The child's next line of stdout without its newline; nil at end of stream.
    func readLine() -> String? {
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
        }
    }

    /// Waits for the child to end and reaps it.
    /// - Returns: the raw status `waitpid` reported, or nil when `waitpid` failed.
    func wait() -> Int32? {
        var status: Int32 = 0
        while true {
            if waitpid(pid, &status, 0) == pid { return status }
            if errno != EINTR { return nil }
        }
    }
}

/// A self-test step that could not run at all.
struct SelfTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

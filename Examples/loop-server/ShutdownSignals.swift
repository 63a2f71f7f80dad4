import EventLoop
import Glibc

/// The write end of the signal pipe. Set once by `ShutdownSignals.install()` before the
/// handlers that read it are installed; read only by the handler.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// SIGINT and SIGTERM turned into bytes on a pipe that the event loop waits on (the classic
/// self-pipe), so that a stop request arrives on the loop like any other readiness event.
///
/// The handler does the one async-signal-safe thing it needs: `write` one byte. Glibc's
/// Swift module does not export `signalfd`, and blocking the signals for a `sigwait` thread
/// proved unreliable here (see the README), so a handler it is.
enum ShutdownSignals {
    /// Creates the pipe, installs the SIGINT and SIGTERM handlers, and ignores SIGPIPE (a
    /// write to a vanished client then fails with `EPIPE` instead of killing the process).
    /// Call it once, before the signals matter.
    /// - Returns: the pipe's non-blocking read end, for ``next(from:on:)``.
    static func install() -> Int32 {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe failed: \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        signalPipeWriteEnd = ends[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(signalPipeWriteEnd, &byte, 1)  // a full pipe already holds a stop request
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        signal(SIGPIPE, SIG_IGN)
        return ends[0]
    }

    /// Waits on `dispatcher` for the next signal.
    /// - Returns: the signal's number.
    /// - Throws: `CancellationError` when the task is cancelled; `LoopError` when the
    ///   dispatcher shuts down.
    static func next(from readEnd: Int32, on dispatcher: Dispatcher) async throws -> Int32 {
        while true {
            var byte: UInt8 = 0
            if read(readEnd, &byte, 1) == 1 { return Int32(byte) }
            try await dispatcher.waitReadable(readEnd)
        }
    }
}

import Glibc

/// SIGINT and SIGTERM delivered to one plain thread that waits for them with `sigwait`,
/// instead of to an async-signal handler that could do almost nothing safely.
///
/// Glibc's Swift module does not export `signalfd`, so the signals cannot become a
/// descriptor for `Dispatcher.waitReadable`; a dedicated thread turns them into a call.
enum ShutdownSignals {
    /// Blocks SIGINT and SIGTERM in the calling thread, and so in every thread it creates
    /// afterwards (threads inherit the mask). Call it first thing in `main`, before any
    /// thread — the loop, the workers, the Swift runtime's pool — is started. Also ignores
    /// SIGPIPE: a write to a vanished client fails with `EPIPE` instead of killing us.
    static func block() {
        var signals = set
        let status = pthread_sigmask(SIG_BLOCK, &signals, nil)
        precondition(status == 0, "pthread_sigmask failed: \(status)")
        signal(SIGPIPE, SIG_IGN)
    }

    /// Starts a thread that waits for SIGINT or SIGTERM and then calls `handler` with the
    /// signal's number, once. The thread is detached; it ends after the call.
    static func watch(_ handler: @escaping @Sendable (Int32) -> Void) {
        let thread = startThread {
            var signals = set
            var received: Int32 = 0
            while sigwait(&signals, &received) != 0 {}
            handler(received)
        }
        pthread_detach(thread)
    }

    private static var set: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        return signals
    }
}

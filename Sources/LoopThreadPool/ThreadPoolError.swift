import Glibc

/// Why a ``ThreadPool`` did not take or did not run a job, or could not be created.
///
/// Compare with the static members (`error == .shutDown`) or switch over ``code``; new
/// codes may be added later, so a `switch` needs a default. A cancelled ``ThreadPool/run(_:)``
/// throws `CancellationError`, never a `ThreadPoolError`; an error thrown by the work itself
/// reaches the caller unchanged.
public struct ThreadPoolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a value that can grow new members without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: UInt8
        private init(_ raw: UInt8) { self.raw = raw }

        /// The pool has shut down, or shut down before it ran the job.
        public static let shutDown = Code(1)
        /// The bounded queue is full; ``ThreadPool/submit(_:)`` did not wait for room.
        public static let queueFull = Code(2)
        /// The pool was asked for fewer than one thread.
        public static let invalidThreadCount = Code(3)
        /// The pool was asked for a queue bound below 1.
        public static let invalidQueueLimit = Code(4)
        /// A worker thread could not be created (``ThreadPoolError/errno`` says why).
        public static let threadStartFailed = Code(5)

        public var description: String {
            switch self {
            case .shutDown: "shutDown"
            case .queueFull: "queueFull"
            case .invalidThreadCount: "invalidThreadCount"
            case .invalidQueueLimit: "invalidQueueLimit"
            case .threadStartFailed: "threadStartFailed"
            default: "code(\(raw))"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// The error `pthread_create` returned, for ``Code/threadStartFailed``; nil otherwise.
    public let errno: Int32?

    init(code: Code, errno: Int32? = nil) {
        self.code = code
        self.errno = errno
    }

    /// The pool has shut down: ``ThreadPool/run(_:)`` and ``ThreadPool/submit(_:)`` after
    /// ``ThreadPool/shutdown()`` or ``ThreadPool/shutdownNow()``, and the callers of the jobs
    /// that `shutdownNow()` took off the queue unrun, get it. Use another pool, or make a new one.
    public static let shutDown = ThreadPoolError(code: .shutDown)
    /// The bounded queue is full and ``ThreadPool/submit(_:)`` does not wait. Retry later,
    /// use the suspending ``ThreadPool/run(_:)``, or give the pool a larger bound.
    public static let queueFull = ThreadPoolError(code: .queueFull)
    /// ``ThreadPool/init(threads:maxQueuedJobs:name:idlePolicy:)`` was given fewer than one thread; ask
    /// for at least one.
    public static let invalidThreadCount = ThreadPoolError(code: .invalidThreadCount)
    /// ``ThreadPool/init(threads:maxQueuedJobs:name:idlePolicy:)`` was given a queue bound below 1; give
    /// at least 1, or nil for no bound.
    public static let invalidQueueLimit = ThreadPoolError(code: .invalidQueueLimit)

    /// A worker thread could not be created: `pthread_create` failed with `errno`.
    static func threadStartFailed(errno: Int32) -> ThreadPoolError {
        ThreadPoolError(code: .threadStartFailed, errno: errno)
    }

    /// One sentence saying what went wrong and what to do, for logs and test failures.
    public var description: String {
        switch code {
        case .shutDown:
            return "ThreadPoolError.shutDown: the thread pool has shut down and did not run the job; "
                + "use a pool that is running"
        case .queueFull:
            return "ThreadPoolError.queueFull: the pool's queue is at its bound; retry later, await run(_:), "
                + "or raise maxQueuedJobs"
        case .invalidThreadCount:
            return "ThreadPoolError.invalidThreadCount: a thread pool needs at least one thread"
        case .invalidQueueLimit:
            return "ThreadPoolError.invalidQueueLimit: maxQueuedJobs must be at least 1, or nil for no bound"
        case .threadStartFailed:
            let reason = errno.map { "\(String(cString: strerror($0))) (errno \($0))" } ?? "unknown"
            return "ThreadPoolError.threadStartFailed: pthread_create failed: \(reason); the process is out "
                + "of threads or memory: end some threads or raise the limit"
        default:
            return "ThreadPoolError.\(code)"
        }
    }
}

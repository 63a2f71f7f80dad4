import CEventLoop
import Glibc

/// An error thrown by the event loop, its timers, its descriptor waits and `ThreadSignal`.
///
/// Compare with the static members (`LoopError.shutDown`, …) or switch over ``code``.
/// Errors from the operating system carry the failing ``operation``, the ``fd`` where one
/// was involved, and the ``errno`` value.
public struct LoopError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a value that can grow new members without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: UInt8
        private init(_ raw: UInt8) { self.raw = raw }

        /// The dispatcher has shut down: its thread ended or its `LoopThread` was shut down.
        public static let shutDown = Code(1)
        /// The call must be made on the dispatcher's own thread.
        public static let wrongThread = Code(2)
        /// The dispatcher's loop is already running on this thread (nested `run`/`waitFor`).
        public static let alreadyRunning = Code(3)
        /// The `ThreadSignal` was closed.
        public static let closed = Code(4)
        /// A file descriptor cannot be waited on (bad, closed or unsupported).
        public static let badDescriptor = Code(5)
        /// A system call failed, for example because the process ran out of descriptors.
        public static let systemCall = Code(6)
        /// Another task already waits for the same readiness of the same descriptor.
        public static let alreadyWaiting = Code(7)
        /// A blocking call would have parked a thread that runs a dispatcher's loop.
        public static let wouldBlockLoop = Code(8)
        /// A ``LoopGroup`` was asked for fewer than one loop.
        public static let invalidLoopCount = Code(9)

        public var description: String {
            switch self {
            case .shutDown: "shutDown"
            case .wrongThread: "wrongThread"
            case .alreadyRunning: "alreadyRunning"
            case .closed: "closed"
            case .badDescriptor: "badDescriptor"
            case .systemCall: "systemCall"
            case .alreadyWaiting: "alreadyWaiting"
            case .wouldBlockLoop: "wouldBlockLoop"
            case .invalidLoopCount: "invalidLoopCount"
            default: "code(\(raw))"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// The system call that failed, when one did.
    public let operation: String?
    /// The file descriptor involved, when there was one.
    public let fd: Int32?
    /// The `errno` value the system call reported, when one did.
    public let errno: Int32?

    init(code: Code, operation: String? = nil, fd: Int32? = nil, errno: Int32? = nil) {
        self.code = code
        self.operation = operation
        self.fd = fd
        self.errno = errno
    }

    /// The dispatcher has shut down; start a new `LoopThread` or use another dispatcher.
    public static let shutDown = LoopError(code: .shutDown)
    /// The call was made off the dispatcher's thread; call it from that thread.
    public static let wrongThread = LoopError(code: .wrongThread)
    /// The loop is already running on this thread; `await` instead of nesting `waitFor`.
    public static let alreadyRunning = LoopError(code: .alreadyRunning)
    /// The `ThreadSignal` was closed; nothing will fire it again.
    public static let closed = LoopError(code: .closed)
    /// A blocking call (``selectSync(biased:_:)`` with nothing ready) was made on a thread
    /// that runs a dispatcher's loop, where waiting would stall every task of the loop.
    /// Nothing was taken. Call ``select(biased:_:)`` from a task, or block on a plain thread.
    public static let wouldBlockLoop = LoopError(code: .wouldBlockLoop)
    /// A ``LoopGroup`` was created with fewer than one loop; ask for at least one.
    public static let invalidLoopCount = LoopError(code: .invalidLoopCount)

    static func system(_ operation: String, errno: Int32, fd: Int32? = nil) -> LoopError {
        LoopError(code: .systemCall, operation: operation, fd: fd, errno: errno)
    }

    static func descriptor(_ fd: Int32, operation: String, errno: Int32) -> LoopError {
        LoopError(code: .badDescriptor, operation: operation, fd: fd, errno: errno)
    }

    /// The same error, naming `operation` as the call that failed: a descriptor wait
    /// reports a failure to arm the descriptor as a failure of the wait itself.
    func reported(as operation: String) -> LoopError {
        LoopError(code: code, operation: operation, fd: fd, errno: errno)
    }

    public var description: String {
        switch code {
        case .shutDown:
            return "LoopError.shutDown: the dispatcher has shut down and runs no more loop work"
        case .wrongThread:
            return "LoopError.wrongThread: this call must be made on the dispatcher's own thread"
        case .alreadyRunning:
            return
                "LoopError.alreadyRunning: the loop already runs on this thread; await instead of nesting waitFor/run"
        case .closed:
            return "LoopError.closed: the ThreadSignal was closed"
        case .invalidLoopCount:
            return "LoopError.invalidLoopCount: a LoopGroup needs at least one loop"
        case .alreadyWaiting:
            return "LoopError.alreadyWaiting: another task already waits for this readiness of fd \(fd ?? -1)"
        case .wouldBlockLoop:
            return "LoopError.wouldBlockLoop: a blocking call would stall the event loop running on this thread; "
                + "call select from a task, or selectSync from a plain thread"
        default:
            var text = "LoopError.\(code)"
            if let operation { text += ": \(operation)" }
            if let fd { text += " on fd \(fd)" }
            if let errno { text += " failed: \(String(cString: strerror(errno))) (errno \(errno))" }
            return text
        }
    }
}

@inline(__always)
func currentErrno() -> Int32 { cel_errno() }

import EventLoop
import Glibc

/// A plain OS thread for tests: the kind of thread (pool worker, blocking I/O, C callback)
/// that the library connects to async tasks. Not part of the library.
public final class PlainThread: Sendable {
    private let handle: LockedValue<pthread_t?>
    private let done = LockedValue<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Starts a thread running `body`.
    public init(name: String = "plain", _ body: @escaping @Sendable () -> Void) {
        handle = LockedValue(nil)
        let box = Unmanaged.passRetained(Start(body: body, owner: self)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                start.body()
                start.owner.markFinished()
                return nil
            }, box)
        precondition(status == 0, "pthread_create failed: \(status)")
        handle.withLock { $0 = thread }
    }

    deinit {
        // Fire-and-forget threads: nobody joins them, so release their resources at the end.
        if let thread = handle.withLock({ $0 }) { pthread_detach(thread) }
    }

    private final class Start: @unchecked Sendable {
        let body: @Sendable () -> Void
        let owner: PlainThread
        init(body: @escaping @Sendable () -> Void, owner: PlainThread) {
            self.body = body
            self.owner = owner
        }
    }

    private func markFinished() {
        let waiters = done.withLock { state in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits for the thread to end without blocking a cooperative-pool thread, then joins it.
    public func join() async {
        await withCheckedContinuation { continuation in
            let finished = done.withLock { state in
                if !state.finished { state.waiters.append(continuation) }
                return state.finished
            }
            if finished { continuation.resume() }
        }
        joinBlocking()
    }

    /// Joins the thread, blocking the caller. For plain threads, not tasks.
    public func joinBlocking() {
        if let thread = handle.withLock({ h -> pthread_t? in
            defer { h = nil }
            return h
        }) {
            pthread_join(thread, nil)
        }
    }
}

/// How much to scale stress tests: `LOOPCHANNELS_STRESS=1` gives the full size (factor
/// 100 unless the variable holds a larger number); unset gives the quick size (factor 1).
public var stressFactor: Int {
    guard let raw = getenv("LOOPCHANNELS_STRESS") else { return 1 }
    let value = Int(String(cString: raw)) ?? 1
    return value <= 1 ? 100 : value
}

/// Runs `body` on each of `count` plain threads at once and waits for all of them.
public func onPlainThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
    let threads = (0..<count).map { index in PlainThread { body(index) } }
    for thread in threads { await thread.join() }
}

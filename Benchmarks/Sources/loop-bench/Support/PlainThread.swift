import Glibc

/// A plain POSIX thread — not a task — for the producers and ping-pong partners that the
/// scenarios require to be ordinary threads (thread pools, blocking I/O, C callbacks).
///
/// The library's own `PlainThread` (in `LoopUtilities`) is `package` API, invisible from
/// this separate package, which sees only the library's products, as a user does.
final class PlainThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let handle: pthread_t
    private var joined = false

    /// Starts a thread that runs `body` and ends.
    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(
            &handle, nil,
            { raw in
                Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed with error \(status): out of threads or memory?")
        self.handle = handle
    }

    /// Waits until the thread's body has returned. Call it once, from one thread.
    func join() {
        precondition(!joined, "PlainThread.join() called twice")
        joined = true
        pthread_join(handle, nil)
    }

    deinit {
        if !joined { pthread_detach(handle) }
    }
}

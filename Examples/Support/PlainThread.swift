import Glibc

/// A plain pthread that runs one closure: the kind of thread (a blocking reader, a CPU-bound
/// worker, a client) that talks to the event loop only through channels. Shared by the
/// examples; not part of the library.
///
/// The `pthread_create` callback lives here, outside any `main.swift`, because closures written
/// in `main.swift` inherit the main actor's isolation and would trap when a foreign thread
/// runs them.
public struct PlainThread: Sendable {
    private let handle: pthread_t

    /// Starts a thread that runs `body` and then ends.
    /// - Parameter body: the work; it runs once, on the new thread.
    public init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body: body)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(
            &handle, nil,
            { raw in
                // The context was retained for this thread; take that reference back.
                let context = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                context.body()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        self.handle = handle
    }

    /// Waits for the thread to end. Call it exactly once, from another thread.
    public func join() {
        pthread_join(handle, nil)
    }
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void

    init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}

import Glibc

/// Starts a plain pthread that runs `body`, and returns it for `pthread_join`.
///
/// The C callback lives in this file, not in main.swift: a closure written there would
/// inherit main-actor isolation and trap when it runs on the new thread.
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(
        &thread, nil,
        { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
    precondition(status == 0, "pthread_create failed: \(status)")
    return thread
}

/// What a thread runs, boxed so that it can cross `pthread_create`'s `void *`.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

import CEventLoop
import Glibc
import LoopUtilities

/// A thread that runs one ``Dispatcher`` until it is shut down.
///
/// ```swift
/// let loop = try LoopThread(name: "io")
/// defer { loop.shutdown() }
/// let value = await Task(executorPreference: loop.dispatcher) { 42 }.value
/// ```
///
/// Releasing the last reference shuts the thread down as ``shutdown()`` does. Sendable:
/// use it from any thread.
public final class LoopThread: Sendable {
    /// The dispatcher this thread runs. Immutable; read it from any thread.
    public let dispatcher: Dispatcher
    /// Any thread, protected by its lock: the thread to join, until `shutdown()` takes it.
    private let thread = LockedValue<pthread_t?>(nil)

    /// Starts a thread named `name` that runs a new dispatcher. Callable from any thread.
    /// - Parameter name: the thread's name as tools show it (the kernel keeps 15 bytes).
    /// - Throws: ``LoopError`` with code `systemCall` when the dispatcher's descriptors or
    ///   the thread cannot be created (the operation and errno say which).
    public init(name: String = "event-loop") throws(LoopError) {
        let dispatcher = try Dispatcher(name: name)
        self.dispatcher = dispatcher
        let context = Unmanaged.passRetained(ThreadContext(dispatcher: dispatcher, name: name)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(
            &handle, nil,
            { raw in
                // `raw` is the context passed below, retained once for this thread: take that
                // reference back (it is released when main() returns).
                let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                context.main()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            dispatcher.shutDownOnOwnThread()
            throw .system("pthread_create", errno: status)
        }
        thread.withLock { $0 = handle }
    }

    deinit {
        shutdown()
    }

    /// Stops the loop and waits for its thread to end; idempotent, callable from any thread.
    ///
    /// After it returns the dispatcher has shut down: see ``Dispatcher`` for what happens to
    /// work that was pending or arrives later. Called on the loop thread itself (from a task
    /// or closure running on it) it cannot wait for its own end: it asks the loop to stop
    /// after the current job, detaches the thread and returns.
    public func shutdown() {
        guard
            let handle = thread.withLock({ state -> pthread_t? in
                defer { state = nil }
                return state
            })
        else { return }
        dispatcher.stop()
        if pthread_equal(handle, pthread_self()) != 0 {
            pthread_detach(handle)
        } else {
            pthread_join(handle, nil)
        }
    }
}

/// What the new thread needs, handed over through pthread_create's context pointer.
private final class ThreadContext {
    let dispatcher: Dispatcher  // immutable; keeps the dispatcher alive while the thread runs
    let name: String  // immutable

    init(dispatcher: Dispatcher, name: String) {
        self.dispatcher = dispatcher
        self.name = name
    }

    /// The thread's body: bind the dispatcher, run it until stopped, shut it down.
    func main() {
        cel_set_thread_name(name)
        dispatcher.bindToCurrentThread()
        do {
            try dispatcher.run()
        } catch {
            preconditionFailure("LoopThread could not run its dispatcher: \(error)")
        }
        dispatcher.shutDownOnOwnThread()
    }
}

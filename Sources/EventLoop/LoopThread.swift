import LoopUtilities
import Synchronization

/// A thread that runs one ``Dispatcher`` until it is shut down.
///
/// ```swift
/// let loop = try LoopThread(name: "io")
/// defer { loop.shutdown() }
/// let value = await Task(executorPreference: loop.dispatcher) { 42 }.value
/// ```
///
/// Releasing the last reference shuts the thread down as ``shutdown()`` does, wherever the
/// release happens: the thread is joined, or, when the release runs on the loop thread
/// itself, the loop stops after the current job and the thread is detached. The
/// ``dispatcher`` outlives it for as long as it is referenced (see ``Dispatcher`` for what
/// its waiters and late work see). Sendable: use it from any thread.
public final class LoopThread: Sendable {
    /// The dispatcher this thread runs. Immutable; read it from any thread.
    public let dispatcher: Dispatcher
    /// The thread; immutable. Joined (or, from its own loop, detached) by the first `shutdown()`.
    private let thread: PlainThread
    /// Set by the first `shutdown()`; any thread, atomic (relaxed: it only elects the one
    /// caller that stops and joins; `pthread_join` orders the thread's end before its return).
    private let shutDownStarted = Atomic<Bool>(false)

    /// Starts a thread named `name` that runs a new dispatcher. Callable from any thread.
    /// - Parameters:
    ///   - name: the thread's name as tools show it (the kernel keeps 15 bytes).
    ///   - idlePolicy: how the loop idles when it runs out of work (see ``IdlePolicy``);
    ///     ``IdlePolicy/adaptive`` by default. Change it later with
    ///     ``Dispatcher/idlePolicy``.
    /// - Throws: ``LoopError`` with code `systemCall` when the dispatcher's descriptors or
    ///   the thread cannot be created (the operation and errno say which).
    public init(name: String = "event-loop", idlePolicy: IdlePolicy = .adaptive) throws(LoopError) {
        let dispatcher = try Dispatcher(name: name, idlePolicy: idlePolicy)
        self.dispatcher = dispatcher
        do {
            thread = try PlainThread(named: name) {
                dispatcher.bindToCurrentThread()
                do {
                    try dispatcher.run()
                } catch {
                    preconditionFailure("LoopThread could not run its dispatcher: \(error)")
                }
                dispatcher.shutDownOnOwnThread()
            }
        } catch {
            dispatcher.shutDownOnOwnThread()
            throw LoopError.system("pthread_create", errno: error.errno)
        }
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
        guard stopAndElectJoiner() else { return }
        thread.joinBlocking()
    }

    /// Stops the loop and waits, suspended, for its thread to end: ``shutdown()`` for a task,
    /// which must not block its executor's thread while the loop finishes its current job.
    /// Idempotent with ``shutdown()``: only the first call of either waits; a later one
    /// returns at once. Callable from any task; called from a task on this very loop it asks
    /// the loop to stop after the current job, detaches the thread and returns.
    ///
    /// Cancellation does not interrupt it: the loop is already asked to stop, and the call
    /// returns once the thread has ended.
    public func shutdownGracefully() async {
        guard stopAndElectJoiner() else { return }
        await thread.join()
    }

    /// The common part of both shutdowns: the first caller stops the loop and is elected to
    /// join the thread, unless it runs on the loop thread itself, which cannot wait for its
    /// own end: there the thread is detached, and the loop stops after the current job.
    /// - Returns: whether the caller is to join the thread.
    private func stopAndElectJoiner() -> Bool {
        guard !shutDownStarted.exchange(true, ordering: .relaxed) else { return false }
        dispatcher.stop()
        guard !thread.isCurrent else {
            thread.detach()
            return false
        }
        return true
    }
}

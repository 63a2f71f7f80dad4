import Glibc
import LoopUtilities

/// The waiters of one descriptor: the rendezvous of the task waiting for each side, and the
/// selector's state for the descriptor. Loop thread only (after shutdown: the fallback drain).
final class Registration {
    /// The task waiting for readability, if any.
    var reader: Rendezvous?
    /// The task waiting for writability, if any.
    var writer: Rendezvous?
    /// The selector's state for this descriptor; only the selector interprets it.
    var entry = PlatformSelector.Entry()

    /// What the waiting tasks want the selector to watch for.
    var interest: Interest {
        var interest: Interest = []
        if reader != nil { interest.insert(.readable) }
        if writer != nil { interest.insert(.writable) }
        return interest
    }

    /// True when no task waits on the descriptor.
    var isIdle: Bool { reader == nil && writer == nil }
}

extension Dispatcher {
    /// How often the loop checks that the descriptors it waits on are still open.
    static let descriptorAuditInterval: UInt64 = 1_000_000_000

    /// Suspends until `fd` is readable (or has hung up or failed), using this loop's
    /// selector (epoll).
    ///
    /// One-shot: each call waits for one readiness event; read until `EAGAIN`, then call
    /// again. At most one task may wait for readability of a descriptor at a time. Callable
    /// from any task: it may run anywhere, and it resumes on its own executor.
    /// - Parameter fd: a descriptor the selector can watch (socket, pipe, eventfd, terminal…).
    /// - Throws: ``LoopError`` with code `badDescriptor` naming the fd and errno when the
    ///   descriptor is negative, closed or unsupported (a regular file: `EPERM`);
    ///   `alreadyWaiting` when another task waits for the same event; `CancellationError`
    ///   when the task is cancelled before or during the wait (the wait ends at once and
    ///   the registration is removed); ``LoopError/shutDown`` when the dispatcher shuts down
    ///   first. A descriptor closed by someone else while a task waits on it (the kernel
    ///   drops it from the selector silently) is noticed by the loop's audit within about a
    ///   second: the wait throws `badDescriptor` with errno `EBADF`. The loop keeps running
    ///   in every case.
    public nonisolated(nonsending) func waitReadable(_ fd: Int32) async throws {
        try await waitForDescriptor(fd, writable: false)
    }

    /// Suspends until `fd` is writable (or has hung up or failed), using this loop's
    /// selector (epoll).
    ///
    /// Same rules as ``waitReadable(_:)``, for writability.
    /// - Throws: as ``waitReadable(_:)``.
    public nonisolated(nonsending) func waitWritable(_ fd: Int32) async throws {
        try await waitForDescriptor(fd, writable: true)
    }

    private nonisolated(nonsending) func waitForDescriptor(_ fd: Int32, writable: Bool) async throws {
        let operation = writable ? "waitWritable" : "waitReadable"
        guard fd >= 0 else { throw LoopError.descriptor(fd, operation: operation, errno: EBADF) }
        guard !isShutDown else { throw LoopError.shutDown }
        let rendezvous = Rendezvous()
        try await withCancellationHandler {
            // Resumed exactly once, by whichever of readiness, failure, cancellation and
            // shutdown finishes the rendezvous first.
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                rendezvous.install(continuation)
                onLoop { [self] in register(fd, writable: writable, rendezvous: rendezvous, operation: operation) }
            }
        } onCancel: {
            if rendezvous.finish(.failure(CancellationError())) {
                onLoop { [self] in unregister(fd, writable: writable, rendezvous: rendezvous) }
            }
        }
    }

    /// Runs `body` on the loop thread: now when already there, else through the inbox.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        if inLoop { body() } else { execute(body) }
    }

    /// Loop thread: makes `rendezvous` the waiter for one side of `fd` and arms the
    /// descriptor; finishes it with an error when that cannot be done.
    private func register(_ fd: Int32, writable: Bool, rendezvous: Rendezvous, operation: String) {
        guard !isShutDown else {
            rendezvous.finish(.failure(LoopError.shutDown))
            return
        }
        guard !rendezvous.isFinished else { return }  // cancelled before it got here
        let registration = registrations[fd] ?? Registration()
        if (writable ? registration.writer : registration.reader) != nil {
            rendezvous.finish(.failure(LoopError(code: .alreadyWaiting, operation: operation, fd: fd)))
            return
        }
        if writable { registration.writer = rendezvous } else { registration.reader = rendezvous }
        descriptorWaits += 1
        registrations[fd] = registration
        do throws(LoopError) {
            try selector.arm(fd, for: registration.interest, &registration.entry)
        } catch {
            if writable { registration.writer = nil } else { registration.reader = nil }
            descriptorWaits -= 1
            if registration.isIdle && !registration.entry.isWatched {
                registrations[fd] = nil
            }
            // The caller learns of it as a failure of its own wait.
            rendezvous.finish(.failure(error.reported(as: operation)))
        }
    }

    /// Loop thread: a cancelled task's rendezvous leaves its side of `fd`.
    private func unregister(_ fd: Int32, writable: Bool, rendezvous: Rendezvous) {
        guard let registration = registrations[fd] else { return }
        if writable, registration.writer === rendezvous {
            registration.writer = nil
            descriptorWaits -= 1
        }
        if !writable, registration.reader === rendezvous {
            registration.reader = nil
            descriptorWaits -= 1
        }
        settle(fd, registration)
    }

    /// After a waiter left: re-arm for the remaining one, or forget a quiet descriptor.
    private func settle(_ fd: Int32, _ registration: Registration) {
        if registration.isIdle {
            selector.forget(fd, &registration.entry)
            registrations[fd] = nil
        } else {
            rearm(fd, registration)
        }
    }

    /// Arms `fd` again for its remaining waiters; fails them when that cannot be done.
    private func rearm(_ fd: Int32, _ registration: Registration) {
        do throws(LoopError) {
            try selector.arm(fd, for: registration.interest, &registration.entry)
        } catch {
            failWaiters(of: fd, registration, with: error)
        }
    }

    /// Fails both waiters of `fd` and forgets the descriptor.
    private func failWaiters(of fd: Int32, _ registration: Registration, with error: LoopError) {
        for rendezvous in [registration.reader, registration.writer].compactMap({ $0 }) {
            descriptorWaits -= 1
            rendezvous.finish(.failure(error))
        }
        registration.reader = nil
        registration.writer = nil
        registrations[fd] = nil
    }

    /// Loop thread: the selector reported `readiness` for `fd`. Wakes the waiters it
    /// satisfies; a remaining waiter is armed for again (each arming reports one event).
    func descriptorReady(_ fd: Int32, _ readiness: Readiness) {
        guard let registration = registrations[fd] else { return }
        if readiness.contains(.readable), let reader = registration.reader {
            registration.reader = nil
            descriptorWaits -= 1
            reader.finish(.success(()))
        }
        if readiness.contains(.writable), let writer = registration.writer {
            registration.writer = nil
            descriptorWaits -= 1
            writer.finish(.success(()))
        }
        // Nobody left: the selector keeps the descriptor, disarmed, for a cheap re-arm.
        if registration.isIdle { return }
        rearm(fd, registration)
    }

    /// Loop thread: fails the waits on descriptors that were closed (or whose number now
    /// names another file) behind the loop's back, which the selector never reports.
    func auditDescriptors() {
        for (fd, registration) in registrations where !registration.isIdle {
            do throws(LoopError) {
                try selector.verify(fd, registration.entry)
            } catch {
                failWaiters(of: fd, registration, with: error)
            }
        }
    }

    /// Loop thread (or the fallback drain), at shutdown: fails every descriptor wait.
    func failDescriptorWaitersForShutdown() {
        for registration in registrations.values {
            registration.reader?.finish(.failure(LoopError.shutDown))
            registration.writer?.finish(.failure(LoopError.shutDown))
        }
        registrations = [:]
        descriptorWaits = 0
    }
}

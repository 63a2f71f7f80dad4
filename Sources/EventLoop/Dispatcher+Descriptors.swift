import CEventLoop
import Glibc
import LoopUtilities

/// The waiters of one descriptor and what epoll knows of it. Loop thread only.
final class Registration {
    var reader: Waiter?
    var writer: Waiter?
    /// Whether the descriptor is in the epoll set (armed or disarmed by EPOLLONESHOT).
    var inEpoll = false
    /// The open file the descriptor named when it was armed (device, inode): the audit
    /// tells a closed or reused descriptor number by it.
    var identity: FileIdentity?

    var wantedEvents: UInt32 {
        var events: UInt32 = 0
        if reader != nil { events |= UInt32(CEL_EPOLLIN) | UInt32(CEL_EPOLLRDHUP) }
        if writer != nil { events |= UInt32(CEL_EPOLLOUT) }
        return events
    }
}

/// What a descriptor refers to, by `fstat`: device and inode.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    /// The identity of what `fd` names now, or the errno of a failed `fstat`.
    static func of(_ fd: Int32) -> Result<FileIdentity, LoopError> {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            return .failure(LoopError.descriptor(fd, operation: "fstat", errno: currentErrno()))
        }
        return .success(FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }
}

extension Dispatcher {
    /// How often the loop checks that the descriptors it waits on are still open.
    static let descriptorAuditInterval: UInt64 = 1_000_000_000

    /// Suspends until `fd` is readable (or has hung up or failed), using this loop's epoll.
    ///
    /// One-shot: each call waits for one readiness event; read until `EAGAIN`, then call
    /// again. At most one task may wait for readability of a descriptor at a time. The
    /// calling task may run anywhere; it resumes on its own executor.
    /// - Parameter fd: a descriptor epoll can watch (socket, pipe, eventfd, terminal…).
    /// - Throws: ``LoopError`` with code `badDescriptor` naming the fd and errno when the
    ///   descriptor is negative, closed or unsupported (a regular file: `EPERM`);
    ///   `alreadyWaiting` when another task waits for the same event; `CancellationError`
    ///   when the task is cancelled (the registration is removed); ``LoopError/shutDown``.
    ///   A descriptor closed by someone else while a task waits on it (epoll forgets it
    ///   silently) is noticed by the loop's audit within about a second: the wait throws
    ///   `badDescriptor` with errno `EBADF`. The loop keeps running in every case.
    public nonisolated(nonsending) func waitReadable(_ fd: Int32) async throws {
        try await waitForDescriptor(fd, writable: false)
    }

    /// Suspends until `fd` is writable (or has hung up or failed), using this loop's epoll.
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
        let waiter = Waiter()
        try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                waiter.install(continuation)
                onLoop { [self] in register(fd, writable: writable, waiter: waiter, operation: operation) }
            }
        } onCancel: {
            if waiter.finish(.failure(CancellationError())) {
                onLoop { [self] in unregister(fd, writable: writable, waiter: waiter) }
            }
        }
    }

    /// Runs `body` on the loop thread: now when already there, else through the inbox.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        if inLoop && !isShutDown { body() } else { execute(body) }
    }

    private func register(_ fd: Int32, writable: Bool, waiter: Waiter, operation: String) {
        guard !isShutDown else {
            waiter.finish(.failure(LoopError.shutDown))
            return
        }
        guard !waiter.isFinished else { return }  // cancelled before it got here
        let registration = registrations[fd] ?? Registration()
        if (writable ? registration.writer : registration.reader) != nil {
            waiter.finish(.failure(LoopError(code: .alreadyWaiting, operation: operation, fd: fd)))
            return
        }
        if writable { registration.writer = waiter } else { registration.reader = waiter }
        descriptorWaits += 1
        registrations[fd] = registration
        if let errno = arm(fd, registration) {
            if writable { registration.writer = nil } else { registration.reader = nil }
            descriptorWaits -= 1
            if registration.reader == nil && registration.writer == nil && !registration.inEpoll {
                registrations[fd] = nil
            }
            waiter.finish(.failure(LoopError.descriptor(fd, operation: operation, errno: errno)))
        }
    }

    /// Arms `fd` in epoll for what its waiters want; returns errno on failure.
    private func arm(_ fd: Int32, _ registration: Registration) -> Int32? {
        let events = registration.wantedEvents | UInt32(CEL_EPOLLONESHOT)
        var op = Int32(registration.inEpoll ? CEL_EPOLL_CTL_MOD : CEL_EPOLL_CTL_ADD)
        for _ in 0..<2 {
            if selector.control(op, fd: fd, events: events) == 0 {
                if op == Int32(CEL_EPOLL_CTL_ADD) || registration.identity == nil {
                    registration.identity = try? FileIdentity.of(fd).get()
                }
                registration.inEpoll = true
                return nil
            }
            let error = currentErrno()
            // A closed-and-reused number is no longer in the set (MOD: ENOENT); a set we
            // did not know about already has it (ADD: EEXIST). Switch once and retry.
            if op == Int32(CEL_EPOLL_CTL_MOD) && error == ENOENT {
                op = Int32(CEL_EPOLL_CTL_ADD)
            } else if op == Int32(CEL_EPOLL_CTL_ADD) && error == EEXIST {
                op = Int32(CEL_EPOLL_CTL_MOD)
            } else {
                registration.inEpoll = op == Int32(CEL_EPOLL_CTL_MOD) && error != ENOENT && error != EBADF
                return error
            }
        }
        return currentErrno()
    }

    private func unregister(_ fd: Int32, writable: Bool, waiter: Waiter) {
        guard let registration = registrations[fd] else { return }
        if writable, registration.writer === waiter {
            registration.writer = nil
            descriptorWaits -= 1
        }
        if !writable, registration.reader === waiter {
            registration.reader = nil
            descriptorWaits -= 1
        }
        settle(fd, registration)
    }

    /// After a waiter left: re-arm for the remaining one, or forget a quiet descriptor.
    private func settle(_ fd: Int32, _ registration: Registration) {
        if registration.reader == nil && registration.writer == nil {
            if registration.inEpoll { _ = selector.control(Int32(CEL_EPOLL_CTL_DEL), fd: fd, events: 0) }
            registrations[fd] = nil
        } else if let errno = arm(fd, registration) {
            failWaiters(of: fd, registration, with: LoopError.descriptor(fd, operation: "epoll_ctl", errno: errno))
        }
    }

    /// Fails both waiters of `fd` and forgets the descriptor.
    private func failWaiters(of fd: Int32, _ registration: Registration, with error: LoopError) {
        for waiter in [registration.reader, registration.writer].compactMap({ $0 }) {
            descriptorWaits -= 1
            waiter.finish(.failure(error))
        }
        registration.reader = nil
        registration.writer = nil
        registrations[fd] = nil
    }

    /// Loop thread: epoll reported `events` for `fd`.
    func descriptorReady(_ fd: Int32, events: UInt32) {
        guard let registration = registrations[fd] else { return }
        let failed = events & (UInt32(CEL_EPOLLERR) | UInt32(CEL_EPOLLHUP)) != 0
        if failed || events & (UInt32(CEL_EPOLLIN) | UInt32(CEL_EPOLLRDHUP)) != 0, let reader = registration.reader {
            registration.reader = nil
            descriptorWaits -= 1
            reader.finish(.success(()))
        }
        if failed || events & UInt32(CEL_EPOLLOUT) != 0, let writer = registration.writer {
            registration.writer = nil
            descriptorWaits -= 1
            writer.finish(.success(()))
        }
        // EPOLLONESHOT disarmed the descriptor; it stays in the set for a cheap re-arm.
        if registration.reader == nil && registration.writer == nil {
            return
        }
        if let errno = arm(fd, registration) {
            failWaiters(of: fd, registration, with: LoopError.descriptor(fd, operation: "epoll_ctl", errno: errno))
        }
    }

    /// Loop thread: fails the waits on descriptors that were closed (or whose number now
    /// names another file) behind the loop's back, which epoll never reports.
    func auditDescriptors() {
        for (fd, registration) in registrations where registration.reader != nil || registration.writer != nil {
            switch FileIdentity.of(fd) {
            case .failure(let error):
                failWaiters(of: fd, registration, with: error)
            case .success(let identity) where registration.identity != nil && identity != registration.identity:
                failWaiters(of: fd, registration, with: LoopError.descriptor(fd, operation: "fstat", errno: EBADF))
            case .success:
                break
            }
        }
    }

    func failDescriptorWaitersForShutdown() {
        for registration in registrations.values {
            registration.reader?.finish(.failure(LoopError.shutDown))
            registration.writer?.finish(.failure(LoopError.shutDown))
        }
        registrations = [:]
        descriptorWaits = 0
    }
}

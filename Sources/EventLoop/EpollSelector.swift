import CEventLoop
import Glibc

/// The Linux selector: one epoll instance, with an eventfd registered as the cross-thread
/// wake target. Descriptors are armed `EPOLLONESHOT`, and keyed by their own number in the
/// epoll user data.
///
/// `@unchecked Sendable`: the descriptors are immutable and `wake()` only writes the
/// eventfd (a system call, safe from any thread); the event buffer is used by the loop
/// thread alone.
final class EpollSelector: Selector, @unchecked Sendable {
    /// What epoll knows of one descriptor, kept in its registration.
    struct Entry: SelectorEntry {
        /// Whether the descriptor is in the epoll set (armed, or disarmed by EPOLLONESHOT).
        fileprivate(set) var isWatched = false
        /// The open file the descriptor named when it was added (device, inode): the audit
        /// tells a closed or reused descriptor number by it. Nil when `fstat` failed then.
        fileprivate var identity: FileIdentity?

        init() {}
    }

    /// The epoll user data that marks the wake eventfd; descriptors use their own number.
    private static let wakeToken = UInt64.max
    /// Immutable; at most this many events are read per `epoll_wait`.
    private static let eventCapacity: Int32 = 64

    /// Immutable; closed in `close()` (internal for the tests that check it is closed).
    let epollFD: Int32
    /// Immutable; closed in `close()`. Written by `wake()` from any thread: the dispatcher
    /// closes it only in its deinit, so no writer can hit a closed or reused number.
    let wakeFD: Int32
    /// Immutable pointer to a buffer of `eventCapacity` events, written and read by the loop
    /// thread only (in `wait`); freed in `close()`.
    private let events: UnsafeMutablePointer<cel_event>

    init() throws(LoopError) {
        let epollFD = cel_epoll_create()
        guard epollFD >= 0 else { throw .system("epoll_create1", errno: currentErrno()) }
        let wakeFD = cel_eventfd_create()
        guard wakeFD >= 0 else {
            let error = currentErrno()
            Glibc.close(epollFD)
            throw .system("eventfd", errno: error)
        }
        guard cel_epoll_ctl(epollFD, Int32(CEL_EPOLL_CTL_ADD), wakeFD, UInt32(CEL_EPOLLIN), Self.wakeToken) == 0
        else {
            let error = currentErrno()
            Glibc.close(wakeFD)
            Glibc.close(epollFD)
            throw .system("epoll_ctl", errno: error, fd: wakeFD)
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.events = .allocate(capacity: Int(Self.eventCapacity))
    }

    func wake() {
        _ = cel_eventfd_signal(wakeFD)
    }

    func wait(timeoutNanoseconds: Int64, _ handle: (Int32, Readiness) -> Void) {
        let n = cel_epoll_wait(epollFD, events, Self.eventCapacity, timeoutNanoseconds)
        guard n > 0 else { return }  // 0: timeout; < 0: EINTR (anything else is a bug in our fds)
        for i in 0..<Int(n) {
            let event = events[i]
            if event.data == Self.wakeToken {
                _ = cel_eventfd_drain(wakeFD)
            } else {
                handle(Int32(truncatingIfNeeded: event.data), Self.readiness(of: event.events))
            }
        }
    }

    /// Decodes epoll's event bits: an error or a hang-up wakes both sides.
    private static func readiness(of events: UInt32) -> Readiness {
        if events & (UInt32(CEL_EPOLLERR) | UInt32(CEL_EPOLLHUP)) != 0 { return [.readable, .writable] }
        var readiness: Readiness = []
        if events & (UInt32(CEL_EPOLLIN) | UInt32(CEL_EPOLLRDHUP)) != 0 { readiness.insert(.readable) }
        if events & UInt32(CEL_EPOLLOUT) != 0 { readiness.insert(.writable) }
        return readiness
    }

    func arm(_ fd: Int32, for interest: Interest, _ entry: inout Entry) throws(LoopError) {
        var events = UInt32(CEL_EPOLLONESHOT)
        if interest.contains(.readable) { events |= UInt32(CEL_EPOLLIN) | UInt32(CEL_EPOLLRDHUP) }
        if interest.contains(.writable) { events |= UInt32(CEL_EPOLLOUT) }
        var op = Int32(entry.isWatched ? CEL_EPOLL_CTL_MOD : CEL_EPOLL_CTL_ADD)
        var error: Int32 = 0
        for _ in 0..<2 {
            if control(op, fd: fd, events: events) == 0 {
                if op == Int32(CEL_EPOLL_CTL_ADD) || entry.identity == nil {
                    entry.identity = try? FileIdentity.of(fd).get()
                }
                entry.isWatched = true
                return
            }
            error = currentErrno()
            // A closed-and-reused number is no longer in the set (MOD: ENOENT); a set we
            // did not know about already has it (ADD: EEXIST). Switch once and retry.
            if op == Int32(CEL_EPOLL_CTL_MOD) && error == ENOENT {
                op = Int32(CEL_EPOLL_CTL_ADD)
            } else if op == Int32(CEL_EPOLL_CTL_ADD) && error == EEXIST {
                op = Int32(CEL_EPOLL_CTL_MOD)
            } else {
                entry.isWatched = op == Int32(CEL_EPOLL_CTL_MOD) && error != ENOENT && error != EBADF
                break
            }
        }
        throw .descriptor(fd, operation: "epoll_ctl", errno: error)
    }

    func forget(_ fd: Int32, _ entry: inout Entry) {
        guard entry.isWatched else { return }
        _ = control(Int32(CEL_EPOLL_CTL_DEL), fd: fd, events: 0)
        entry.isWatched = false
    }

    func verify(_ fd: Int32, _ entry: Entry) throws(LoopError) {
        let identity = try FileIdentity.of(fd).get()
        if let armed = entry.identity, armed != identity {
            throw .descriptor(fd, operation: "fstat", errno: EBADF)
        }
    }

    /// Adds, changes or removes the interest set of `fd`; 0, or -1 with errno set.
    private func control(_ op: Int32, fd: Int32, events: UInt32) -> Int32 {
        cel_epoll_ctl(epollFD, op, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    func close() {
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
        events.deallocate()
    }
}

/// What a descriptor refers to, by `fstat`: device and inode.
private struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    /// The identity of what `fd` names now, or a `badDescriptor` error naming `fstat`.
    static func of(_ fd: Int32) -> Result<FileIdentity, LoopError> {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            return .failure(LoopError.descriptor(fd, operation: "fstat", errno: currentErrno()))
        }
        return .success(FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }
}

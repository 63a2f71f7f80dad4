import CEventLoop
import Glibc
import LoopUtilities

/// The Linux half of a dispatcher: one epoll instance with an eventfd registered as the
/// cross-thread wake target. All methods but `wake()` are called on the loop thread only.
final class Selector: @unchecked Sendable {
    /// The epoll user data that marks the wake eventfd; descriptors use their own number.
    static let wakeToken: UInt64 = UInt64.max

    let epollFD: Int32  // immutable; closed in close()
    let wakeFD: Int32  // immutable; closed in close()
    private var events: UnsafeMutablePointer<cel_event>  // loop thread only
    private let eventCapacity: Int32 = 64

    init() throws(LoopError) {
        let epollFD = cel_epoll_create()
        guard epollFD >= 0 else { throw .system("epoll_create1", errno: currentErrno()) }
        let wakeFD = cel_eventfd_create()
        guard wakeFD >= 0 else {
            let error = currentErrno()
            Glibc.close(epollFD)
            throw .system("eventfd", errno: error)
        }
        guard cel_epoll_ctl(epollFD, Int32(CEL_EPOLL_CTL_ADD), wakeFD, UInt32(CEL_EPOLLIN), Self.wakeToken) == 0 else {
            let error = currentErrno()
            Glibc.close(wakeFD)
            Glibc.close(epollFD)
            throw .system("epoll_ctl", errno: error, fd: wakeFD)
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.events = .allocate(capacity: 64)
    }

    /// Any thread: makes a blocked or the next `wait` return.
    func wake() {
        _ = cel_eventfd_signal(wakeFD)
    }

    /// Loop thread: waits for events (`timeoutNanoseconds` < 0: forever) and hands each to
    /// `handle` as (user data, event bits). The wake eventfd is drained here.
    func wait(timeoutNanoseconds: Int64, _ handle: (UInt64, UInt32) -> Void) {
        let n = cel_epoll_wait(epollFD, events, eventCapacity, timeoutNanoseconds)
        guard n > 0 else { return }  // 0: timeout; < 0: EINTR (anything else is a bug in our fds)
        for i in 0..<Int(n) {
            let event = events[i]
            if event.data == Self.wakeToken {
                _ = cel_eventfd_drain(wakeFD)
            } else {
                handle(event.data, event.events)
            }
        }
    }

    /// Loop thread: adds, changes or removes the interest set of `fd`.
    func control(_ op: Int32, fd: Int32, events: UInt32) -> Int32 {
        cel_epoll_ctl(epollFD, op, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    func close() {
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
        events.deallocate()
    }
}

import EventLoop
import NIOCore
import NIOPosix

/// The long-lived threads every scenario shares, started once so that no run pays for
/// thread start-up: two of our loop threads and one NIO event loop.
final class BenchEnvironment: Sendable {
    /// Our loops. Consumers "on a loop" are tasks with `Task(executorPreference:)` on one of
    /// these; `mpmc-4p2c` uses both.
    let loops: [LoopThread]
    /// A one-thread NIO group, the peers' event loop.
    let nioGroup: MultiThreadedEventLoopGroup
    let nioLoop: any NIOCore.EventLoop

    /// Starts the threads.
    /// - Throws: `LoopError` when a loop thread cannot start.
    init() throws {
        loops = [try LoopThread(name: "bench-loop-0"), try LoopThread(name: "bench-loop-1")]
        nioGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        nioLoop = nioGroup.next()
    }

    /// The first loop's dispatcher: the consumer side of most scenarios.
    var dispatcher: Dispatcher { loops[0].dispatcher }

    /// Eventfd writes plus epoll waits of our loops so far (each counter is a snapshot).
    func dispatcherSyscalls() -> Int {
        loops.reduce(0) { total, loop in
            let counters = loop.dispatcher.counters
            return total + counters.eventfdWrites + counters.epollWaits
        }
    }

    /// Stops and joins every thread.
    func shutdown() {
        for loop in loops { loop.shutdown() }
        try? nioGroup.syncShutdownGracefully()
    }
}

import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import EventLoop

/// The names (`comm`) of this process's threads now.
private func threadNames() -> [String] {
    guard let directory = opendir("/proc/self/task") else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let id = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard id.first != "." else { continue }
        guard let file = fopen("/proc/self/task/\(id)/comm", "r") else { continue }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        if fgets(&buffer, 64, file) != nil {
            names.append(
                String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }
    return names
}

/// Whether `fd` is an open descriptor of this process.
private func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

@Suite("Loop lifetimes", .stressTimeLimit)
struct LoopLifetimeTests {
    /// A `LoopThread` released without `shutdown()` stops its thread wherever the last
    /// reference goes: on a plain thread, in a task on the global executor, in a task on
    /// another loop, and on its own loop thread (where it cannot join itself, so it detaches).
    @Test func aLoopThreadReleasedAnywhereStopsItsThread() async throws {
        let other = try LoopThread(name: "lt-other")
        defer { other.shutdown() }
        for round in 0..<(4 * stressFactor) {
            // Plain thread.
            let onPlain = LockedValue<LoopThread?>(try LoopThread(name: "lt-rel-plain"))
            await PlainThread { onPlain.withLock { $0 = nil } }.join()
            // A task on the global executor.
            let inTask = LockedValue<LoopThread?>(try LoopThread(name: "lt-rel-task"))
            await Task.detached { inTask.withLock { $0 = nil } }.value
            // A task on another loop.
            let onOther = LockedValue<LoopThread?>(try LoopThread(name: "lt-rel-other"))
            await Task(executorPreference: other.dispatcher) { onOther.withLock { $0 = nil } }.value
            // Its own loop thread: the last reference goes inside a closure the loop runs.
            let onOwn = LockedValue<LoopThread?>(try LoopThread(name: "lt-rel-own"))
            let dispatcher = try #require(onOwn.withLock { $0?.dispatcher })
            let released = Counter()
            dispatcher.execute {
                onOwn.withLock { $0 = nil }
                released.store(1)
            }
            await waitUntil("the loop to release itself") { released.value == 1 }
            await waitUntil("round \(round): every released loop's thread to end") {
                !threadNames().contains { $0.hasPrefix("lt-rel-") }
            }
            #expect(dispatcher.isShutDown)
        }
    }

    /// `shutdownGracefully()` waits suspended for the thread to end: from a task on another
    /// loop, whose thread stays free meanwhile, and from a task on the loop itself, where it
    /// detaches instead of waiting for its own end.
    @Test func anAsyncShutdownJoinsOrOnItsOwnLoopDetaches() async throws {
        let other = try LoopThread(name: "lt-async-other")
        defer { other.shutdown() }
        let loop = try LoopThread(name: "lt-async")
        await Task(executorPreference: other.dispatcher) { await loop.shutdownGracefully() }.value
        #expect(loop.dispatcher.isShutDown)  // set at the end of the thread's body: it waited
        await waitUntil("the kernel to reap lt-async") { !threadNames().contains("lt-async") }
        await loop.shutdownGracefully()  // idempotent
        let own = try LoopThread(name: "lt-async-own")
        await Task(executorPreference: own.dispatcher) { await own.shutdownGracefully() }.value
        await waitUntil("the detached loop thread to end") { !threadNames().contains("lt-async-own") }
        #expect(own.dispatcher.isShutDown)
    }

    /// A loop's two descriptors (epoll and the wake eventfd) stay open through `shutdown()`,
    /// because any thread holding the dispatcher may still call `stop()` or post work that
    /// writes the eventfd, and are closed when the last reference to the `Dispatcher` goes.
    /// Checked in a child process, where no other test opens descriptors meanwhile (that
    /// could reuse a closed number).
    @Test func aLoopsDescriptorsCloseWhenItsDispatcherIsFreed() async {
        await #expect(processExitsWith: .success) {
            var loop: LoopThread? = try? LoopThread(name: "fd-count")
            check(loop != nil, "LoopThread", code: 2)
            var dispatcher = loop?.dispatcher
            let fds = [dispatcher!.selector.epollFD, dispatcher!.selector.wakeFD]
            check(fds.allSatisfy(isOpen), "a running loop holds both", code: 10)
            loop?.shutdown()
            check(fds.allSatisfy(isOpen), "a shut-down dispatcher still referenced keeps them", code: 11)
            loop = nil
            check(dispatcher?.isShutDown == true, "a released loop is shut down", code: 12)
            check(fds.allSatisfy(isOpen), "the dispatcher is still referenced here", code: 13)
            dispatcher = nil
            check(!fds.contains(where: isOpen), "freeing the dispatcher closes both", code: 14)
        }
    }
}

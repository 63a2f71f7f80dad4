import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import EventLoop

@Suite("LoopGroup", .stressTimeLimit)
struct LoopGroupTests {
    @Test func nextHandsOutTheLoopsRoundRobin() async throws {
        let group = try LoopGroup(loops: 3, name: "lg-next")
        defer { group.shutdown() }
        #expect(group.dispatchers.count == 3)
        #expect(Set(group.dispatchers).count == 3)
        let picked = (0..<9).map { _ in group.next() }
        let expected = (0..<9).map { group.dispatchers[$0 % 3] }
        #expect(picked == expected)
        // Each thread names itself as it starts.
        await waitUntil("the three loops to be named") {
            let names = processThreadNames()
            return (0..<3).allSatisfy { names.contains("lg-next-\($0)") }
        }
    }

    /// Dispatchers compare and hash by identity, so that state can be kept per loop.
    @Test func dispatchersAreEqualOnlyToThemselves() throws {
        let group = try LoopGroup(loops: 2, name: "lg-hash")
        defer { group.shutdown() }
        let (first, second) = (group.dispatchers[0], group.dispatchers[1])
        #expect(first == first)
        #expect(first != second)
        var perLoop: [Dispatcher: Int] = [:]
        for _ in 0..<6 { perLoop[group.next(), default: 0] += 1 }
        #expect(perLoop == [first: 3, second: 3])
    }

    @Test func tasksRunOnTheLoopNextPicked() async throws {
        let group = try LoopGroup(loops: 2, name: "lg-tasks")
        defer { group.shutdown() }
        for _ in 0..<4 {
            let dispatcher = group.next()
            let onIt = await Task(executorPreference: dispatcher) { dispatcher.inLoop }.value
            #expect(onIt)
        }
    }

    @Test func aGroupNeedsAtLeastOneLoop() {
        #expect(throws: LoopError.invalidLoopCount) { try LoopGroup(loops: 0) }
        #expect(LoopError.invalidLoopCount.description.contains("at least one loop"))
    }

    /// The default size is the number of CPUs this process may run on: counted here from
    /// `/proc/self/status` (`Cpus_allowed_list`), independently of the library's
    /// `sched_getaffinity` call.
    @Test func theDefaultSizeIsTheCPUsTheProcessMayUse() throws {
        let status = try #require(readFile("/proc/self/status"))
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        let list = line.dropFirst("Cpus_allowed_list:".count).trimmingPrefix { $0 == " " || $0 == "\t" }
        var allowed = 0
        for range in list.split(separator: ",") {
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            allowed += bounds.count == 2 ? bounds[1] - bounds[0] + 1 : 1
        }
        #expect(LoopGroup.defaultLoopCount == allowed)
        let group = try LoopGroup(name: "lg-default")
        defer { group.shutdown() }
        #expect(group.dispatchers.count == allowed)
    }

    @Test func shutdownFromAPlainThreadStopsAndJoinsEveryLoop() async throws {
        let group = try LoopGroup(loops: 3, name: "lg-plain")
        await PlainThread { group.shutdown() }.join()
        #expect(group.dispatchers.allSatisfy { $0.isShutDown })
        await waitUntil("the lg-plain threads to end") { !aThreadIsNamed("lg-plain") }
        group.shutdown()  // idempotent
    }

    /// On one of its own loops the group cannot join that loop's thread: it stops every
    /// loop, joins the others and detaches its own, without deadlock.
    @Test func shutdownFromOneOfItsOwnLoopsDoesNotDeadlock() async throws {
        let group = try LoopGroup(loops: 3, name: "lg-own")
        let returned = Counter()
        group.dispatchers[1].execute {
            group.shutdown()
            returned.store(1)
        }
        await waitUntil("the shutdown on the loop to return") { returned.value == 1 }
        await waitUntil("every loop to shut down") { group.dispatchers.allSatisfy { $0.isShutDown } }
        await waitUntil("every loop thread to end") { !aThreadIsNamed("lg-own") }
        group.shutdown()
    }

    @Test func anAsyncShutdownJoinsEveryLoopWithoutBlockingItsCaller() async throws {
        let group = try LoopGroup(loops: 3, name: "lg-async")
        let caller = try LoopThread(name: "lg-caller")
        defer { caller.shutdown() }
        await Task(executorPreference: caller.dispatcher) { await group.shutdownGracefully() }.value
        // Set at the end of each loop thread's body: the call waited for every thread.
        #expect(group.dispatchers.allSatisfy { $0.isShutDown })
        await waitUntil("the kernel to reap the lg-async threads") { !aThreadIsNamed("lg-async") }
        await group.shutdownGracefully()  // idempotent, returns at once
        group.shutdown()
    }

    @Test func anAsyncShutdownFromOneOfItsOwnLoopsDoesNotDeadlock() async throws {
        let group = try LoopGroup(loops: 2, name: "lg-own-async")
        await Task(executorPreference: group.dispatchers[0]) { await group.shutdownGracefully() }.value
        await waitUntil("every loop to shut down") { group.dispatchers.allSatisfy { $0.isShutDown } }
        await waitUntil("every loop thread to end") { !aThreadIsNamed("lg-own-async") }
    }

    @Test func droppingTheGroupShutsItDown() async throws {
        var dispatchers: [Dispatcher] = []
        do {
            let group = try LoopGroup(loops: 2, name: "lg-drop")
            dispatchers = group.dispatchers
        }
        #expect(dispatchers.allSatisfy { $0.isShutDown })
        await waitUntil("the dropped group's threads to end") { !aThreadIsNamed("lg-drop") }
    }
}

/// The whole of a small text file, or nil.
private func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var text = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), file) != nil {
        text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return text
}

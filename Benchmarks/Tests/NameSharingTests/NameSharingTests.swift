import AsyncAlgorithms
import LoopChannels
import NIOCore
import NIOPosix
import Testing

// A file that imports SwiftNIO, swift-async-algorithms and LoopChannels together, written
// as a user must write it. Two names are shared:
// - `EventLoop` is NIOCore's protocol and LoopChannels' module. Unqualified, it means NIO's
//   protocol (a type shadows a module), so `EventLoop.Dispatcher` does not compile; write
//   `Dispatcher` (no other module has one), `EventLoop::Dispatcher` (a module selector) or
//   `LoopChannels.Dispatcher`.
// - `AsyncChannel` is a type in both AsyncAlgorithms and AsyncChannels: unqualified, it is
//   ambiguous. Qualify it with the module (`AsyncChannels.AsyncChannel`,
//   `AsyncAlgorithms.AsyncChannel`), the umbrella (`LoopChannels.AsyncChannel`) or a module
//   selector, or declare a type alias in your module, which shadows both imports.

/// The file-level alias a user declares to use our channel unqualified in a module that
/// also imports AsyncAlgorithms.
typealias LoopChannel<Element: Sendable> = LoopChannels.AsyncChannel<Element>

@Suite struct NameSharingTests {
    @Test func dispatcherUnqualifiedBesideNIOsEventLoop() async throws {
        let nio = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let nioLoop: any EventLoop = nio.next()  // NIO's protocol, unqualified
        let loop = try LoopThread(name: "names")
        let unqualified: Dispatcher = loop.dispatcher
        let selected: EventLoop::Dispatcher = loop.dispatcher
        let umbrella: LoopChannels.Dispatcher = loop.dispatcher
        #expect(unqualified === selected && selected === umbrella)

        // A value computed on NIO's loop, handed to a task on ours through our channel.
        let channel = LoopChannel<Int>()
        try await nioLoop.submit { try channel.send(7) }.get()
        let received = try await Task(executorPreference: unqualified) { () async throws -> Int in
            #expect(unqualified.inLoop)
            return try await channel.receive()
        }.value
        #expect(received == 7)
        loop.shutdown()
        try await nio.shutdownGracefully()
    }

    @Test func bothAsyncChannelsQualified() async throws {
        let ours = AsyncChannels.AsyncChannel<Int>()
        let viaUmbrella: LoopChannels.AsyncChannel<Int> = ours
        let viaSelector: AsyncChannels::AsyncChannel<Int> = ours
        let theirs = AsyncAlgorithms.AsyncChannel<Int>()
        #expect(viaUmbrella === viaSelector)

        // Their channel is a rendezvous: its send waits for the receiver below.
        let forward = Task {
            for await value in theirs { try ours.send(value * 2) }
            ours.close()
        }
        await theirs.send(1)
        await theirs.send(2)
        theirs.finish()
        try await forward.value
        var doubled: [Int] = []
        for await value in ours { doubled.append(value) }
        #expect(doubled == [2, 4])
    }
}

import LoopChannels
import Testing

/// `import LoopChannels` alone reaches every library module: these tests import nothing else
/// from the package.
@Suite struct UmbrellaTests {
    /// The umbrella catalog's example, verbatim apart from the assertion. Keep both in step.
    @Test func theCatalogExampleRuns() async throws {
        let loop = try LoopThread(name: "io")
        let pool = try ThreadPool(threads: 2, name: "work")
        let results = AsyncChannel<Int>()
        let task = Task(executorPreference: loop.dispatcher) {
            try results.send(try await pool.run { 6 * 7 })
        }
        try await task.value
        #expect(try await results.receive() == 42)
        pool.shutdown()
        loop.shutdown()
    }

    /// One type of each module, named unqualified and qualified through the umbrella.
    @Test func everyModulesTypesAreVisibleUnqualifiedAndThroughTheUmbrella() async throws {
        let group = try LoopChannels.LoopGroup(loops: 1, name: "umbrella")
        defer { group.shutdown() }
        let dispatcher: LoopChannels.Dispatcher = group.next()
        let channel = try LoopChannels.BoundedAsyncChannel<Int>(capacity: 1)
        let (sender, receiver) = LoopChannels.makeOneshot(of: Int.self)
        let signal = try ThreadSignal()
        let received = Task(executorPreference: dispatcher) { () async throws -> Int in
            #expect(dispatcher.inLoop)
            let first = try await receiver.receive()
            try await channel.send(first + 1)
            signal.fire()
            return try await channel.receive()
        }
        _ = try sender.trySend(1)
        try await signal.wait()
        #expect(try await received.value == 2)
    }
}

import AsyncAlgorithms
import AsyncChannels
import EventLoop
import NIOCore

// `xthread-post-1p1c` and `xthread-post-4p1c`: Ints from plain threads to one consumer.
// Producer p of P sends p·n/P ..< (p+1)·n/P, so the consumer checks that the received values
// sum to 0 + 1 + … + (n - 1).

extension Scenario {
    /// One plain thread posts Ints to one consumer task on a loop.
    static func xthreadPost1p1c(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "xthread-post-1p1c",
            summary: "one Int from one plain thread to one consumer task on a loop",
            operations: 2_000_000,
            quickOperations: 100_000,
            reference: "NIO.execute",
            implementations: [
                .asyncChannelPost(producers: 1, environment),
                .asyncChannelPost(producers: 1, environment, onGlobalExecutor: true),
                .asyncChannelBatchPost(producers: 1, environment),
                .batchDrainLockPost(environment, consumer: .loop),
                .batchDrainLockPost(environment, consumer: .nioActor),
                .batchDrainLockPost(environment, consumer: .global),
                .asyncStreamPost(producers: 1, environment),
                .nioExecutePost(producers: 1, environment),
                .nioAsyncSequenceProducerPost(environment),
                .asyncAlgorithmsChannelPost(environment),
            ]
        )
    }

    /// Four plain threads post Ints to one consumer task on a loop.
    static func xthreadPost4p1c(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "xthread-post-4p1c",
            summary: "one Int from one of 4 plain threads to one consumer task on a loop",
            operations: 2_000_000,
            quickOperations: 100_000,
            reference: "NIO.execute",
            implementations: [
                .asyncChannelPost(producers: 4, environment),
                .asyncChannelBatchPost(producers: 4, environment),
                .asyncStreamPost(producers: 4, environment),
                .nioExecutePost(producers: 4, environment),
            ]
        )
    }
}

extension Implementation {
    /// `AsyncChannel` (ours): producers `send` from plain threads; the consumer task iterates
    /// on our loop.
    /// With `onGlobalExecutor`, `AsyncChannel (global)`: the consumer task runs on the global
    /// concurrent executor instead.
    static func asyncChannelPost(
        producers: Int, _ environment: BenchEnvironment, onGlobalExecutor: Bool = false
    ) -> Implementation {
        Implementation(
            onGlobalExecutor ? "AsyncChannel (global)" : "AsyncChannel",
            syscalls: onGlobalExecutor ? .notMeasured : .dispatcherCounters
        ) { context in
            let total = context.operations
            let channel = AsyncChannels.AsyncChannel<Int>()
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                let consume: @Sendable () async -> Void = {
                    var received = 0
                    for await value in channel {
                        sum.value &+= value
                        received += 1
                        if received == total { break }
                    }
                    done.finish()
                }
                if onGlobalExecutor {
                    Task.detached { await consume() }
                } else {
                    Task(executorPreference: environment.dispatcher) { await consume() }
                }
                let threads = producerThreads(producers, total: total) { value in try? channel.send(value) }
                try done.wait()
                for thread in threads { thread.join() }
            }
            try BenchError.checkSum(sum.value, count: total)
        }
    }

    /// `AsyncChannel (batch)` (ours): as `AsyncChannel`, but the consumer task on our loop
    /// takes up to `batchLimit` elements per call with `receive(upTo:into:)`, into one reused
    /// array.
    static func asyncChannelBatchPost(producers: Int, _ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "AsyncChannel (batch)",
            note: "AsyncChannel (batch): the consumer calls receive(upTo: \(batchLimit), into:) on one reused array",
            syscalls: .dispatcherCounters
        ) { context in
            let total = context.operations
            let channel = AsyncChannels.AsyncChannel<Int>()
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var received = 0
                    var batch: [Int] = []
                    batch.reserveCapacity(Self.batchLimit)
                    while received < total {
                        batch.removeAll(keepingCapacity: true)
                        guard let count = try? await channel.receive(upTo: Self.batchLimit, into: &batch) else { break }
                        for value in batch { sum.value &+= value }
                        received += count
                    }
                    done.finish()
                }
                let threads = producerThreads(producers, total: total) { value in try? channel.send(value) }
                try done.wait()
                for thread in threads { thread.join() }
            }
            try BenchError.checkSum(sum.value, count: total)
        }
    }

    /// The most elements `AsyncChannel (batch)` takes per receive.
    static var batchLimit: Int { 256 }

    /// Where the `BatchDrainLock` peer's consumer runs.
    enum BatchConsumer {
        /// A task preferring our loop.
        case loop
        /// An actor whose executor is the NIO event loop.
        case nioActor
        /// A task on the global concurrent executor.
        case global
    }

    /// `BatchDrainLock`: one plain thread sends into the hand-rolled batch-drain channel; its
    /// consumer swaps out everything queued per wake.
    static func batchDrainLockPost(_ environment: BenchEnvironment, consumer: BatchConsumer) -> Implementation {
        let name: String
        switch consumer {
        case .loop: name = "BatchDrainLock"
        case .nioActor: name = "BatchDrainLock (NIO actor)"
        case .global: name = "BatchDrainLock (global)"
        }
        return Implementation(
            name,
            note: consumer == .loop
                ? "BatchDrainLock: a mutex around an array and one stored UnsafeContinuation; the consumer swaps the whole array out per wake and hands its spent one back (one consumer, not cancellable)"
                : nil
        ) { context in
            let total = context.operations
            let channel = BatchDrainLock<Int>()
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                switch consumer {
                case .loop:
                    Task(executorPreference: environment.dispatcher) {
                        sum.value = await drainBatches(channel, total: total)
                        done.finish()
                    }
                case .nioActor:
                    let actor = NIOLoopConsumer(environment.nioLoop)
                    Task {
                        sum.value = await actor.drain(channel, total: total)
                        done.finish()
                    }
                case .global:
                    Task.detached {
                        sum.value = await drainBatches(channel, total: total)
                        done.finish()
                    }
                }
                let threads = producerThreads(1, total: total) { value in channel.send(value) }
                try done.wait()
                for thread in threads { thread.join() }
            }
            try BenchError.checkSum(sum.value, count: total)
        }
    }

    /// `AsyncStream` (unbounded): producers `yield`, the consumer task iterates on our loop.
    static func asyncStreamPost(producers: Int, _ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncStream") { context in
            let total = context.operations
            let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var received = 0
                    for await value in stream {
                        sum.value &+= value
                        received += 1
                        if received == total { break }
                    }
                    done.finish()
                }
                let threads = producerThreads(producers, total: total) { value in continuation.yield(value) }
                try done.wait()
                for thread in threads { thread.join() }
            }
            try BenchError.checkSum(sum.value, count: total)
        }
    }

    /// `NIO.execute`: a closure per element onto a NIO event loop, which counts them itself.
    static func nioExecutePost(producers: Int, _ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "NIO.execute",
            note: "NIO.execute: the consumer is the NIO event loop itself, running one closure per element"
        ) { context in
            let total = context.operations
            let loop = environment.nioLoop
            let done = Completion()
            let state = Confined((received: 0, sum: 0))
            try context.measure {
                let threads = producerThreads(producers, total: total) { value in
                    loop.execute {
                        state.value.sum &+= value
                        state.value.received += 1
                        if state.value.received == total { done.finish() }
                    }
                }
                try done.wait()
                for thread in threads { thread.join() }
            }
            try BenchError.checkSum(state.value.sum, count: total)
        }
    }

    /// `NIOAsyncSequenceProducer`: the producer thread yields into the source; the consumer
    /// task iterates on our loop.
    static func nioAsyncSequenceProducerPost(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "NIOAsyncSequenceProducer",
            note:
                "NIOAsyncSequenceProducer: the producer ignores back-pressure (`stopProducing`), like an unbounded queue"
        ) { context in
            let total = context.operations
            let new = NIOAsyncSequenceProducer.makeSequence(
                elementType: Int.self,
                backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
                    lowWatermark: 1024,
                    highWatermark: 4096
                ),
                finishOnDeinit: false,
                delegate: IgnoringProducerDelegate()
            )
            let source = new.source
            let sequence = new.sequence
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var received = 0
                    for await value in sequence {
                        sum.value &+= value
                        received += 1
                        if received == total { break }
                    }
                    done.finish()
                }
                let threads = producerThreads(1, total: total) { value in _ = source.yield(value) }
                try done.wait()
                for thread in threads { thread.join() }
            }
            source.finish()
            try BenchError.checkSum(sum.value, count: total)
        }
    }

    /// `AsyncAlgorithms.AsyncChannel`: a rendezvous channel whose `send` is async, so its
    /// producer is a task on the global executor, not a plain thread.
    static func asyncAlgorithmsChannelPost(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "AsyncAlgorithms.AsyncChannel",
            note:
                "AsyncAlgorithms.AsyncChannel: the producer is a task on the global executor (send is async and waits for the consumer); runs 1/10 of the ops",
            operationsDivisor: 10
        ) { context in
            let total = context.operations
            let channel = AsyncAlgorithms.AsyncChannel<Int>()
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var received = 0
                    for await value in channel {
                        sum.value &+= value
                        received += 1
                        if received == total { break }
                    }
                    done.finish()
                }
                Task.detached {
                    for value in 0..<total { await channel.send(value) }
                    done.finish()
                }
                try done.wait(parts: 2)
            }
            channel.finish()
            try BenchError.checkSum(sum.value, count: total)
        }
    }
}

/// Starts `count` plain threads that together call `send` with 0 ..< total, each with its
/// own contiguous share.
func producerThreads(_ count: Int, total: Int, send: @escaping @Sendable (Int) -> Void) -> [PlainThread] {
    precondition(total % count == 0, "\(total) operations do not split evenly over \(count) producers")
    let share = total / count
    return (0..<count).map { producer in
        PlainThread {
            for value in producer * share..<(producer + 1) * share { send(value) }
        }
    }
}

/// Receives `total` elements from `channel` in batches; returns their sum. Runs on the
/// caller's executor.
nonisolated(nonsending) func drainBatches(_ channel: BatchDrainLock<Int>, total: Int) async -> Int {
    var sum = 0
    var received = 0
    var batch: [Int] = []
    while received < total {
        batch = await channel.next(recycling: batch)
        for value in batch { sum &+= value }
        received += batch.count
    }
    return sum
}

/// An actor that lives on a NIO event loop: the `BatchDrainLock (NIO actor)` consumer.
actor NIOLoopConsumer {
    private let loop: any NIOCore.EventLoop

    init(_ loop: any NIOCore.EventLoop) {
        self.loop = loop
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        loop.executor.asUnownedSerialExecutor()
    }

    func drain(_ channel: BatchDrainLock<Int>, total: Int) async -> Int {
        await drainBatches(channel, total: total)
    }
}

/// A delegate for a producer that never waits: `produceMore` and `didTerminate` need no action.
struct IgnoringProducerDelegate: NIOAsyncSequenceProducerDelegate {
    func produceMore() {}
    func didTerminate() {}
}

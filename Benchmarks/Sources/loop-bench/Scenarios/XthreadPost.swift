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
                .asyncStreamPost(producers: 4, environment),
                .nioExecutePost(producers: 4, environment),
            ]
        )
    }
}

extension Implementation {
    /// `AsyncChannel` (ours): producers `send` from plain threads; the consumer task iterates
    /// on our loop.
    static func asyncChannelPost(producers: Int, _ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncChannel", syscalls: .dispatcherCounters) { context in
            let total = context.operations
            let channel = AsyncChannels.AsyncChannel<Int>()
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
                let threads = producerThreads(producers, total: total) { value in try? channel.send(value) }
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

/// A delegate for a producer that never waits: `produceMore` and `didTerminate` need no action.
struct IgnoringProducerDelegate: NIOAsyncSequenceProducerDelegate {
    func produceMore() {}
    func didTerminate() {}
}

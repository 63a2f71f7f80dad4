import AsyncChannels
import EventLoop
import Synchronization

extension Scenario {
    /// Four plain-thread producers, two consumer tasks, each on its own loop.
    static func mpmc4p2c(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "mpmc-4p2c",
            summary: "one Int from one of 4 plain threads to one of 2 consumer tasks on 2 loops",
            operations: 2_000_000,
            quickOperations: 100_000,
            reference: "Mutex+Deque",
            implementations: [
                .asyncChannelMpmc(environment),
                .lockedDequeMpmc(environment),
            ]
        )
    }
}

extension Implementation {
    /// `AsyncChannel` (ours): one channel, consumers `for await` on loops 0 and 1 until the
    /// producers are done and the channel is closed.
    static func asyncChannelMpmc(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncChannel", syscalls: .dispatcherCounters) { context in
            let total = context.operations
            let channel = AsyncChannels.AsyncChannel<Int>()
            let done = Completion()
            let totals = ConsumerTotals()
            try context.measure {
                for loop in environment.loops {
                    Task(executorPreference: loop.dispatcher) {
                        var received = 0
                        var sum = 0
                        for await value in channel {
                            sum &+= value
                            received += 1
                        }
                        totals.add(received: received, sum: sum)
                        done.finish()
                    }
                }
                let producers = producerThreads(4, total: total) { value in try? channel.send(value) }
                for producer in producers { producer.join() }
                channel.close()
                try done.wait(parts: environment.loops.count)
            }
            try BenchError.check(
                totals.received.load(ordering: .relaxed) == total,
                "consumers received \(totals.received.load(ordering: .relaxed)) of \(total)")
            try BenchError.checkSum(totals.sum.load(ordering: .relaxed), count: total)
        }
    }

    /// `Mutex+Deque`: see ``LockedDequeQueue``.
    static func lockedDequeMpmc(_ environment: BenchEnvironment) -> Implementation {
        Implementation("Mutex+Deque") { context in
            let total = context.operations
            let queue = LockedDequeQueue<Int>()
            let done = Completion()
            let totals = ConsumerTotals()
            try context.measure {
                for loop in environment.loops {
                    Task(executorPreference: loop.dispatcher) {
                        var received = 0
                        var sum = 0
                        while let value = await queue.receive() {
                            sum &+= value
                            received += 1
                        }
                        totals.add(received: received, sum: sum)
                        done.finish()
                    }
                }
                let producers = producerThreads(4, total: total) { value in queue.send(value) }
                for producer in producers { producer.join() }
                queue.finish()
                try done.wait(parts: environment.loops.count)
            }
            try BenchError.check(
                totals.received.load(ordering: .relaxed) == total,
                "consumers received \(totals.received.load(ordering: .relaxed)) of \(total)")
            try BenchError.checkSum(totals.sum.load(ordering: .relaxed), count: total)
        }
    }
}

/// What several consumers received, added up as each one ends.
final class ConsumerTotals: Sendable {
    // Relaxed: the harness reads them after the run's Completion, which orders the adds before.
    let received = Atomic<Int>(0)
    let sum = Atomic<Int>(0)

    func add(received count: Int, sum value: Int) {
        received.wrappingAdd(count, ordering: .relaxed)
        sum.wrappingAdd(value, ordering: .relaxed)
    }
}

import AsyncChannels
import EventLoop

extension Scenario {
    /// A select over two channels, one of which holds an element.
    static func selectReady(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "select-ready",
            summary:
                "send one element to one of two channels (alternating), then select over both (one task on a loop; the element is ready)",
            operations: 1_000_000,
            quickOperations: 50_000,
            reference: "recv",
            implementations: [
                .selectReadySelect(environment),
                .selectReadyReceive(environment),
                .selectReadyTaskGroupRace(environment),
                .selectReadyStreamRace(environment),
            ]
        )
    }
}

extension Implementation {
    /// Runs `body` in a task on our loop and waits for it; `body` returns the sum of what it
    /// received, checked against 0 + 1 + … + (count - 1).
    static func runReadyLoop(
        _ context: RunContext,
        _ environment: BenchEnvironment,
        _ body: @escaping @Sendable (Int) async throws -> Int
    ) throws {
        let count = context.operations
        let done = Completion()
        let sum = Confined(0)
        try context.measure {
            Task(executorPreference: environment.dispatcher) {
                do {
                    sum.value = try await body(count)
                    done.finish()
                } catch {
                    done.fail(error)
                }
            }
            try done.wait()
        }
        try BenchError.checkSum(sum.value, count: count)
    }

    /// `select` (ours): `send(i)` to channel i % 2, then `select` over both channels'
    /// `onReceive`.
    static func selectReadySelect(_ environment: BenchEnvironment) -> Implementation {
        Implementation("select", syscalls: .dispatcherCounters) { context in
            let a = AsyncChannels.AsyncChannel<Int>()
            let b = AsyncChannels.AsyncChannel<Int>()
            try runReadyLoop(context, environment) { count in
                var total = 0
                for value in 0..<count {
                    try (value & 1 == 0 ? a : b).send(value)
                    guard let received = try await select(a.onReceive { $0 }, b.onReceive { $0 }) else {
                        throw BenchError("a channel closed")
                    }
                    total &+= received
                }
                return total
            }
        }
    }

    /// `recv`: the same sends, each followed by a plain `receive()` on the channel sent to.
    static func selectReadyReceive(_ environment: BenchEnvironment) -> Implementation {
        Implementation("recv", syscalls: .dispatcherCounters) { context in
            let a = AsyncChannels.AsyncChannel<Int>()
            let b = AsyncChannels.AsyncChannel<Int>()
            try runReadyLoop(context, environment) { count in
                var total = 0
                for value in 0..<count {
                    let channel = value & 1 == 0 ? a : b
                    try channel.send(value)
                    total &+= try await channel.receive()
                }
                return total
            }
        }
    }

    /// `TaskGroupRace`: the same sends, each followed by a task group racing `receive()` on
    /// both channels (see ``TaskGroupRace``).
    static func selectReadyTaskGroupRace(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "TaskGroupRace",
            note:
                "TaskGroupRace: a task group racing receive() on each channel (and Task.sleep for a timeout); losers are cancelled and an element a loser took is kept for the next select; runs 1/10 of the ops",
            operationsDivisor: 10
        ) { context in
            let a = AsyncChannels.AsyncChannel<Int>()
            let b = AsyncChannels.AsyncChannel<Int>()
            try runReadyLoop(context, environment) { count in
                var race = TaskGroupRace([a, b])
                var total = 0
                for value in 0..<count {
                    try (value & 1 == 0 ? a : b).send(value)
                    guard let received = try await race.next() else { throw BenchError("a race timed out") }
                    total &+= received
                }
                return total
            }
        }
    }

    /// `AsyncStream+TaskGroup`: two `AsyncStream`s; the same yields, each followed by a race
    /// of the streams' pending `next()` in a task group (see ``StreamRace``).
    static func selectReadyStreamRace(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "AsyncStream+TaskGroup",
            note:
                "AsyncStream+TaskGroup: one child task per stream awaits next() in a task group that outlives the selects (cancelling a pending next() would finish the stream), Task.sleep children for timeouts; runs 1/10 of the ops",
            operationsDivisor: 10
        ) { context in
            let (aStream, aInput) = AsyncStream.makeStream(of: Int.self)
            let (bStream, bInput) = AsyncStream.makeStream(of: Int.self)
            try runReadyLoop(context, environment) { count in
                try await withThrowingTaskGroup(of: RaceOutcome.self) { group in
                    var race = StreamRace([aStream, bStream])
                    var total = 0
                    for value in 0..<count {
                        (value & 1 == 0 ? aInput : bInput).yield(value)
                        guard let received = try await race.next(in: &group) else {
                            throw BenchError("a race timed out")
                        }
                        total &+= received
                    }
                    aInput.finish()
                    bInput.finish()
                    return total
                }
            }
        }
    }
}

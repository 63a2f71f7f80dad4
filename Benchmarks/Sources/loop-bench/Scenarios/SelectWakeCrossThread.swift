import AsyncChannels
import EventLoop

extension Scenario {
    /// A loop task waiting in a select, woken by a plain thread's send: round trips, as in
    /// `pingpong-thread-loop`, so that every select finds nothing ready and waits.
    static func selectWakeCrossThread(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "select-wake-xthread",
            summary:
                "one round trip: a plain thread sends to one of two channels (alternating) and waits in receiveSync() for the reply; a loop task waiting in a select over both wakes and replies",
            operations: 20_000,
            quickOperations: 2_000,
            reference: "recv",
            implementations: [
                .selectWakeSelect(environment),
                .selectWakeReceive(environment),
                .selectWakeTaskGroupRace(environment),
                .selectWakeStreamRace(environment),
            ]
        )
    }
}

extension Implementation {
    /// The thread side every implementation shares: the harness thread sends `trip` with
    /// `send` and blocks in `receiveSync()` on `replies` until the loop task sends it back;
    /// `task` is the loop side, started on our loop first.
    static func runWakeRoundTrips(
        _ context: RunContext,
        _ environment: BenchEnvironment,
        send: @escaping @Sendable (Int) throws -> Void,
        task: @escaping @Sendable (_ roundTrips: Int, _ replies: AsyncChannels.AsyncChannel<Int>) async throws -> Void
    ) throws {
        let roundTrips = context.operations
        let replies = AsyncChannels.AsyncChannel<Int>()
        let done = Completion()
        try context.measure {
            Task(executorPreference: environment.dispatcher) {
                do {
                    try await task(roundTrips, replies)
                    done.finish()
                } catch {
                    replies.close()  // so that the thread's receiveSync() fails instead of hanging
                    done.fail(error)
                }
            }
            for trip in 0..<roundTrips {
                try send(trip)
                let reply: Int
                do {
                    reply = try replies.receiveSync()
                } catch {
                    try done.wait()  // the task's own failure, which closed `replies`
                    throw error
                }
                try BenchError.check(reply == trip, "round trip \(trip) got a wrong reply")
            }
            try done.wait()
        }
    }

    /// `select` (ours): the thread sends trip i to channel i % 2; the task waits in a
    /// `select` over both channels' `onReceive` and sends what it got back.
    static func selectWakeSelect(_ environment: BenchEnvironment) -> Implementation {
        Implementation("select", syscalls: .dispatcherCounters) { context in
            let a = AsyncChannels.AsyncChannel<Int>()
            let b = AsyncChannels.AsyncChannel<Int>()
            try runWakeRoundTrips(context, environment) { trip in
                try (trip & 1 == 0 ? a : b).send(trip)
            } task: { roundTrips, replies in
                for _ in 0..<roundTrips {
                    guard let value = try await select(a.onReceive { $0 }, b.onReceive { $0 }) else {
                        throw BenchError("a channel closed")
                    }
                    try replies.send(value)
                }
            }
        }
    }

    /// `recv`: the same round trips through one channel, the task waiting in a plain
    /// `receive()`.
    static func selectWakeReceive(_ environment: BenchEnvironment) -> Implementation {
        Implementation("recv", syscalls: .dispatcherCounters) { context in
            let a = AsyncChannels.AsyncChannel<Int>()
            try runWakeRoundTrips(context, environment) { trip in
                try a.send(trip)
            } task: { roundTrips, replies in
                for _ in 0..<roundTrips { try replies.send(try await a.receive()) }
            }
        }
    }

    /// `TaskGroupRace`: as `select`, the task waiting in a task group that races `receive()`
    /// on both channels (see ``TaskGroupRace``).
    static func selectWakeTaskGroupRace(_ environment: BenchEnvironment) -> Implementation {
        Implementation("TaskGroupRace") { context in
            let a = AsyncChannels.AsyncChannel<Int>()
            let b = AsyncChannels.AsyncChannel<Int>()
            try runWakeRoundTrips(context, environment) { trip in
                try (trip & 1 == 0 ? a : b).send(trip)
            } task: { roundTrips, replies in
                var race = TaskGroupRace([a, b])
                for _ in 0..<roundTrips {
                    guard let value = try await race.next() else { throw BenchError("a race timed out") }
                    try replies.send(value)
                }
            }
        }
    }

    /// `AsyncStream+TaskGroup`: the thread yields trip i into stream i % 2; the task waits
    /// for whichever stream's pending `next()` returns first (see ``StreamRace``).
    static func selectWakeStreamRace(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncStream+TaskGroup") { context in
            let (aStream, aInput) = AsyncStream.makeStream(of: Int.self)
            let (bStream, bInput) = AsyncStream.makeStream(of: Int.self)
            try runWakeRoundTrips(context, environment) { trip in
                (trip & 1 == 0 ? aInput : bInput).yield(trip)
            } task: { roundTrips, replies in
                try await withThrowingTaskGroup(of: RaceOutcome.self) { group in
                    var race = StreamRace([aStream, bStream])
                    for _ in 0..<roundTrips {
                        guard let value = try await race.next(in: &group) else {
                            throw BenchError("a race timed out")
                        }
                        try replies.send(value)
                    }
                    aInput.finish()
                    bInput.finish()
                }
            }
        }
    }
}

import AsyncChannels
import EventLoop

extension Scenario {
    /// A loop task waiting in a select, woken by a plain thread's send: round trips, as in
    /// `pingpong-thread-loop`, so that every select finds nothing ready and waits.
    static func selectWakeCrossThread(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "select-wake-xthread",
            summary:
                "one round trip: a plain thread sends to one of two channels (alternating) and waits for the reply (ThreadSignal.waitSync); a loop task waiting in a select over both wakes and replies",
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
    /// `send` and blocks in `waitSync` on a `ThreadSignal` until the loop task has put it
    /// back into `replies` and fired the signal; `task` is the loop side, started on our
    /// loop first. The signal's wait allocates nothing (a blocking `receiveSync()` allocates
    /// its parker), so allocs/op is the loop side's.
    static func runWakeRoundTrips(
        _ context: RunContext,
        _ environment: BenchEnvironment,
        send: @escaping @Sendable (Int) throws -> Void,
        task:
            @escaping @Sendable (_ roundTrips: Int, _ reply: @escaping @Sendable (Int) throws -> Void) async throws
            -> Void
    ) throws {
        let roundTrips = context.operations
        let replies = AsyncChannels.AsyncChannel<Int>()
        let replied = try ThreadSignal()
        let done = Completion()
        try context.measure {
            Task(executorPreference: environment.dispatcher) {
                do {
                    try await task(roundTrips) { value in
                        try replies.send(value)
                        replied.fire()
                    }
                    done.finish()
                } catch {
                    replied.close()  // so that the thread's waitSync returns instead of hanging
                    done.fail(error)
                }
            }
            for trip in 0..<roundTrips {
                try send(trip)
                guard replied.waitSync(timeout: .seconds(60)) else {
                    try done.wait()  // the task's own failure, which closed the signal
                    throw BenchError("round trip \(trip) lost its reply")
                }
                try BenchError.check(replies.tryReceive() == trip, "round trip \(trip) got a wrong reply")
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
            } task: { roundTrips, reply in
                for _ in 0..<roundTrips {
                    guard let value = try await select(a.onReceive { $0 }, b.onReceive { $0 }) else {
                        throw BenchError("a channel closed")
                    }
                    try reply(value)
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
            } task: { roundTrips, reply in
                for _ in 0..<roundTrips { try reply(try await a.receive()) }
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
            } task: { roundTrips, reply in
                var race = TaskGroupRace([a, b])
                for _ in 0..<roundTrips {
                    guard let value = try await race.next() else { throw BenchError("a race timed out") }
                    try reply(value)
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
            } task: { roundTrips, reply in
                try await withThrowingTaskGroup(of: RaceOutcome.self) { group in
                    var race = StreamRace([aStream, bStream])
                    for _ in 0..<roundTrips {
                        guard let value = try await race.next(in: &group) else {
                            throw BenchError("a race timed out")
                        }
                        try reply(value)
                    }
                    aInput.finish()
                    bInput.finish()
                }
            }
        }
    }
}

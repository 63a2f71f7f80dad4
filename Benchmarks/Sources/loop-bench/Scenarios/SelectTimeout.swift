import AsyncChannels
import EventLoop

extension Scenario {
    /// A select over an empty channel and a short timeout, which wins every time.
    static func selectTimeout(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "select-timeout",
            summary:
                "a select over an empty channel and a 20 µs timeout, which wins (one task on a loop); ns beyond the 20 µs itself",
            operations: 5_000,
            quickOperations: 500,
            reference: "TaskGroupRace",
            implementations: [
                .selectTimeoutSelect(environment),
                .selectTimeoutReceive(environment),
                .selectTimeoutTaskGroupRace(environment),
                .selectTimeoutStreamRace(environment),
            ]
        )
    }
}

extension Implementation {
    /// The timeout every select of `select-timeout` waits for; subtracted from the measured
    /// time, so that ns/op is what a timed-out select costs beyond the wait itself.
    static let selectTimeoutWait = Duration.microseconds(20)

    /// Runs `body` in a task on our loop, with the timeouts excluded from the measured time;
    /// `body` returns how many of its waits timed out, which must be all of them.
    static func runTimeouts(
        _ context: RunContext,
        _ environment: BenchEnvironment,
        _ body: @escaping @Sendable (Int) async throws -> Int
    ) throws {
        let count = context.operations
        let done = Completion()
        let timeouts = Confined(0)
        context.excludedTime = selectTimeoutWait * count
        try context.measure {
            Task(executorPreference: environment.dispatcher) {
                do {
                    timeouts.value = try await body(count)
                    done.finish()
                } catch {
                    done.fail(error)
                }
            }
            try done.wait()
        }
        try BenchError.check(timeouts.value == count, "\(timeouts.value) of \(count) waits timed out")
    }

    /// `select` (ours): `select` over an empty channel's `onReceive` and a `SelectTimeout`.
    static func selectTimeoutSelect(_ environment: BenchEnvironment) -> Implementation {
        Implementation("select", syscalls: .dispatcherCounters) { context in
            let channel = AsyncChannels.AsyncChannel<Int>()
            try runTimeouts(context, environment) { count in
                var timeouts = 0
                for _ in 0..<count {
                    let timedOut = try await select(
                        channel.onReceive { _ in false },
                        SelectTimeout(selectTimeoutWait) { true }
                    )
                    if timedOut { timeouts += 1 }
                }
                return timeouts
            }
        }
    }

    /// `recv(timeout:)`: the same wait with one channel's `receive(timeout:)`, which throws
    /// `ChannelError.timedOut`.
    static func selectTimeoutReceive(_ environment: BenchEnvironment) -> Implementation {
        Implementation("recv(timeout:)", syscalls: .dispatcherCounters) { context in
            let channel = AsyncChannels.AsyncChannel<Int>()
            try runTimeouts(context, environment) { count in
                var timeouts = 0
                for _ in 0..<count {
                    do {
                        _ = try await channel.receive(timeout: selectTimeoutWait)
                    } catch let error as ChannelError where error == .timedOut {
                        timeouts += 1
                    }
                }
                return timeouts
            }
        }
    }

    /// `TaskGroupRace`: a task group racing the channel's `receive()` and a `Task.sleep`; the
    /// sleep wins and the receive is cancelled (see ``TaskGroupRace``).
    static func selectTimeoutTaskGroupRace(_ environment: BenchEnvironment) -> Implementation {
        Implementation("TaskGroupRace") { context in
            let channel = AsyncChannels.AsyncChannel<Int>()
            try runTimeouts(context, environment) { count in
                var race = TaskGroupRace([channel])
                var timeouts = 0
                for _ in 0..<count {
                    if try await race.next(timeout: selectTimeoutWait) == nil { timeouts += 1 }
                }
                return timeouts
            }
        }
    }

    /// `AsyncStream+TaskGroup`: the stream's pending `next()` raced by a `Task.sleep` child in
    /// a task group; the sleep wins and the `next()` stays pending (see ``StreamRace``).
    static func selectTimeoutStreamRace(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncStream+TaskGroup") { context in
            let (stream, input) = AsyncStream.makeStream(of: Int.self)
            try runTimeouts(context, environment) { count in
                try await withThrowingTaskGroup(of: RaceOutcome.self) { group in
                    var race = StreamRace([stream])
                    var timeouts = 0
                    for _ in 0..<count {
                        if try await race.next(in: &group, timeout: selectTimeoutWait) == nil { timeouts += 1 }
                    }
                    input.finish()
                    return timeouts
                }
            }
        }
    }
}

import EventLoop

extension Scenario {
    /// Ten thousand concurrent sleeps on one loop.
    static func timers10k(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "timers-10k",
            summary: "one of 10,000 concurrent 10 ms sleeps in child tasks on one loop; ns beyond the 10 ms itself",
            operations: 10_000,
            quickOperations: 10_000,
            reference: "Task.sleep",
            implementations: [
                .concurrentSleeps("Dispatcher.sleep", syscalls: .dispatcherCounters, environment) {
                    dispatcher, duration in
                    try await dispatcher.sleep(for: duration)
                },
                .concurrentSleeps("Task.sleep", environment) { _, duration in
                    try await Task.sleep(for: duration)
                },
            ]
        )
    }
}

extension Implementation {
    /// The sleep every child task takes; subtracted from the measured time, so that ns/op
    /// is the cost of starting, timing and resuming a sleep.
    static let timerSleep = Duration.milliseconds(10)

    /// A task on our loop starts `operations` child tasks (which inherit its executor
    /// preference) that each sleep ``timerSleep`` with `sleep`, and waits for all of them.
    static func concurrentSleeps(
        _ name: String,
        syscalls: Syscalls = .notMeasured,
        _ environment: BenchEnvironment,
        sleep: @escaping @Sendable (Dispatcher, Duration) async throws -> Void
    ) -> Implementation {
        Implementation(name, syscalls: syscalls) { context in
            let count = context.operations
            let dispatcher = environment.dispatcher
            let done = Completion()
            context.excludedTime = timerSleep
            try context.measure {
                Task(executorPreference: dispatcher) {
                    do {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<count {
                                group.addTask { try await sleep(dispatcher, timerSleep) }
                            }
                            try await group.waitForAll()
                        }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                try done.wait()
            }
        }
    }
}

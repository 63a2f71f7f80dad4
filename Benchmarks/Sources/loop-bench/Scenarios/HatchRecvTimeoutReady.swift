import EventLoop
import Hatch

extension Scenario {
    /// A hatch receive with a timeout whose value is already there, against a plain receive.
    static func hatchRecvTimeoutReady(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "hatch-recv-timeout-ready",
            summary: "trySend a value, then receive it with a timeout (one task on a loop; the value is ready)",
            operations: 2_000_000,
            quickOperations: 100_000,
            reference: "hatch recv",
            implementations: [
                .readyHatchReceive(environment, name: "hatch recv", withTimeout: false),
                .readyHatchReceive(environment, name: "hatch recv(timeout:)", withTimeout: true),
            ]
        )
    }
}

extension Implementation {
    /// Per operation: `trySend(i)` then `receive()` (or `receive(timeout:)`) on a hatch, in a
    /// task on our loop, so that every receive finds its value ready. Both loops are written
    /// out, so that neither pays a closure call the other does not.
    static func readyHatchReceive(_ environment: BenchEnvironment, name: String, withTimeout: Bool) -> Implementation {
        Implementation(name, syscalls: .dispatcherCounters) { context in
            let count = context.operations
            let done = Completion()
            let sum = Confined(0)
            let (sender, receiver) = makeHatch(of: Int.self)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        var total = 0
                        if withTimeout {
                            for value in 0..<count {
                                try sender.trySend(value)
                                total &+= try await receiver.receive(timeout: .seconds(60))
                            }
                        } else {
                            for value in 0..<count {
                                try sender.trySend(value)
                                total &+= try await receiver.receive()
                            }
                        }
                        sum.value = total
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                try done.wait()
            }
            try BenchError.checkSum(sum.value, count: count)
        }
    }
}

import AsyncChannels
import EventLoop

extension Scenario {
    /// A receive with a timeout whose element is already queued, against a plain receive.
    static func recvTimeoutReady(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "recv-timeout-ready",
            summary: "send one element, then receive it with a timeout (one task on a loop; the element is ready)",
            operations: 2_000_000,
            quickOperations: 100_000,
            reference: "recv",
            implementations: [
                .readyReceive(environment, name: "recv", withTimeout: false),
                .readyReceive(environment, name: "recv(timeout:)", withTimeout: true),
            ]
        )
    }
}

extension Implementation {
    /// Per operation: `send(i)` then `receive()` (or `receive(timeout:)`) on an
    /// `AsyncChannel`, in a task on our loop, so that every receive finds its element ready.
    /// Both loops are written out, so that neither pays a closure call the other does not.
    static func readyReceive(_ environment: BenchEnvironment, name: String, withTimeout: Bool) -> Implementation {
        Implementation(name, syscalls: .dispatcherCounters) { context in
            let count = context.operations
            let done = Completion()
            let sum = Confined(0)
            let channel = AsyncChannel<Int>()
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        var total = 0
                        if withTimeout {
                            for value in 0..<count {
                                try channel.send(value)
                                total &+= try await channel.receive(timeout: .seconds(60))
                            }
                        } else {
                            for value in 0..<count {
                                try channel.send(value)
                                total &+= try await channel.receive()
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

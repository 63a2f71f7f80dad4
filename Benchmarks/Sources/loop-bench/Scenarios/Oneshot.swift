import EventLoop
import NIOCore

extension Scenario {
    /// Create a one-shot channel, send one value, receive it.
    static func oneshot(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "oneshot",
            summary: "create a one-shot, send one value, receive it (one task)",
            operations: 1_000_000,
            quickOperations: 50_000,
            reference: "CheckedContinuation",
            implementations: [
                // TODO(after merge): Oneshot — `let (sender, receiver) = makeOneshot(of: Int.self)`,
                // `try sender.trySend(value)`, `try await receiver.receive()` in a loop task
                // (target ≤ 1× CheckedContinuation).
                // TODO(after merge): Multishot — one `MultishotReceiver<Int>()`, per op
                // `receiver.sender()!.send(value)` then `try await receiver.recv()` (0 allocs/op).
                .checkedContinuationOneshot(environment),
                .nioPromiseOneshot(environment),
            ]
        )
    }
}

extension Implementation {
    /// `CheckedContinuation`: `withCheckedContinuation` whose body resumes it at once, in a
    /// task on our loop.
    static func checkedContinuationOneshot(_ environment: BenchEnvironment) -> Implementation {
        Implementation("CheckedContinuation") { context in
            let count = context.operations
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var total = 0
                    for value in 0..<count {
                        total &+= await withCheckedContinuation { $0.resume(returning: value) }
                    }
                    sum.value = total
                    done.finish()
                }
                try done.wait()
            }
            try BenchError.checkSum(sum.value, count: count)
        }
    }

    /// `NIO.promise`: on the NIO loop, make a promise, register `whenSuccess`, succeed it —
    /// NIO's own one-shot, used the way NIO code uses it (no task, no `get()` hop).
    static func nioPromiseOneshot(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "NIO.promise",
            note:
                "NIO.promise: makePromise + whenSuccess + succeed, all on the NIO event loop (callback style, no task)"
        ) { context in
            let count = context.operations
            let loop = environment.nioLoop
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                loop.execute {
                    for value in 0..<count {
                        let promise = loop.makePromise(of: Int.self)
                        promise.futureResult.whenSuccess { sum.value &+= $0 }
                        promise.succeed(value)
                    }
                    done.finish()
                }
                try done.wait()
            }
            try BenchError.checkSum(sum.value, count: count)
        }
    }
}

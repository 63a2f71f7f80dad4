import EventLoop
import Hatch
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
                .oneshotOneshot(environment),
                .multishotOneshot(environment),
                .checkedContinuationOneshot(environment),
                .nioPromiseOneshot(environment),
                .twoObjectsFloorOneshot(environment),
            ]
        )
    }
}

extension Implementation {
    /// `Oneshot` (ours): `makeOneshot`, `trySend`, `receive()`, in a task on our loop.
    static func oneshotOneshot(_ environment: BenchEnvironment) -> Implementation {
        Implementation("Oneshot") { context in
            let count = context.operations
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        var total = 0
                        for value in 0..<count {
                            let (sender, receiver) = makeOneshot(of: Int.self)
                            try sender.trySend(value)
                            total &+= try await receiver.receive()
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

    /// `Multishot` (ours): one receiver for the whole run; per op a recycled `sender()`,
    /// `send`, `receive()`.
    static func multishotOneshot(_ environment: BenchEnvironment) -> Implementation {
        Implementation("Multishot") { context in
            let count = context.operations
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        let receiver = MultishotReceiver<Int>()
                        var total = 0
                        for value in 0..<count {
                            guard let sender = receiver.sender() else { throw BenchError("sender() was nil") }
                            sender.send(value)
                            total &+= try await receiver.receive()
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

    /// `2-objects-floor`: allocates and releases two empty endpoint objects per op, nothing
    /// else — what any one-shot whose two ends are class instances (as `HatchSender` and
    /// `HatchReceiver` are) pays before it moves a value.
    static func twoObjectsFloorOneshot(_ environment: BenchEnvironment) -> Implementation {
        Implementation(
            "2-objects-floor",
            note:
                "2-objects-floor: allocate and release two small class instances per op, no synchronization; the floor of any API whose two endpoints are classes"
        ) { context in
            let count = context.operations
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var total = 0
                    for value in 0..<count {
                        let (first, second) = FloorEndpoint.makePair(value)
                        total &+= first.value &+ second.value
                    }
                    sum.value = total
                    done.finish()
                }
                try done.wait()
            }
            try BenchError.checkSum(sum.value, count: count)
        }
    }
}

/// An endpoint-sized object for `2-objects-floor`.
final class FloorEndpoint: Sendable {
    let value: Int

    init(_ value: Int) {
        self.value = value
    }

    /// Not inlined, so the two objects escape and live on the heap as endpoints do.
    @inline(never)
    static func makePair(_ value: Int) -> (FloorEndpoint, FloorEndpoint) {
        (FloorEndpoint(value), FloorEndpoint(0))
    }
}

import AsyncChannels
import EventLoop
import Hatch

extension Scenario {
    /// Round trips between two tasks on the same loop.
    static func pingPongSameLoop(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "pingpong-same-loop",
            summary: "one round trip between two tasks on one loop",
            operations: 200_000,
            quickOperations: 10_000,
            reference: "AsyncStream",
            implementations: [
                .hatchSameLoop(environment),
                .asyncChannelSameLoop(environment),
                .multishotSameLoop(environment),
                .asyncStreamSameLoop(environment),
                .checkedContinuationSameLoop(environment),
                .unsafeContinuationSameLoop(environment),
                .cancellableContinuationSameLoop(environment),
            ]
        )
    }
}

extension Implementation {
    /// `Hatch` (ours): two hatches, one each way; `send` then `receive`.
    static func hatchSameLoop(_ environment: BenchEnvironment) -> Implementation {
        Implementation("Hatch", syscalls: .dispatcherCounters) { context in
            let roundTrips = context.operations
            let (pingSender, pingReceiver) = makeHatch(of: Int.self)
            let (pongSender, pongReceiver) = makeHatch(of: Int.self)
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for _ in 0..<roundTrips { try await pongSender.send(try await pingReceiver.receive()) }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for trip in 0..<roundTrips {
                            try await pingSender.send(trip)
                            sum.value &+= try await pongReceiver.receive()
                        }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                try done.wait(parts: 2)
            }
            try BenchError.checkSum(sum.value, count: roundTrips)
        }
    }

    /// `AsyncChannel` (ours): two channels, one each way; `send` then `receive`.
    static func asyncChannelSameLoop(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncChannel", syscalls: .dispatcherCounters) { context in
            let roundTrips = context.operations
            let pings = AsyncChannels.AsyncChannel<Int>()
            let pongs = AsyncChannels.AsyncChannel<Int>()
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                startChannelEcho(
                    pings: pings, pongs: pongs, roundTrips: roundTrips, done: done, on: environment.dispatcher)
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for trip in 0..<roundTrips {
                            try pings.send(trip)
                            sum.value &+= try await pongs.receive()
                        }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                try done.wait(parts: 2)
            }
            try BenchError.checkSum(sum.value, count: roundTrips)
        }
    }

    /// Starts the echo side of an `AsyncChannel` ping-pong: a task on `dispatcher` that sends
    /// each of `roundTrips` pings back as a pong, then finishes `done` (or fails it with the
    /// error that stopped it).
    static func startChannelEcho(
        pings: AsyncChannels.AsyncChannel<Int>,
        pongs: AsyncChannels.AsyncChannel<Int>,
        roundTrips: Int,
        done: Completion,
        on dispatcher: Dispatcher
    ) {
        Task(executorPreference: dispatcher) {
            do {
                for _ in 0..<roundTrips { try pongs.send(try await pings.receive()) }
                done.finish()
            } catch {
                done.fail(error)
            }
        }
    }

    /// `Multishot` (ours): a request and its reply, each through a recycled multishot
    /// sender. Each side keeps its receiver and hands the other side a fresh sender (from
    /// `sender()`, no allocation) before it waits, as a request/reply protocol does.
    static func multishotSameLoop(_ environment: BenchEnvironment) -> Implementation {
        Implementation("Multishot") { context in
            let roundTrips = context.operations
            let pings = MultishotReceiver<Int>()
            let pongs = MultishotReceiver<Int>()
            // The sender each side sends through next; loop thread only.
            let pingSender = Confined(pings.sender())
            let pongSender = Confined<MultishotSender<Int>?>(nil)
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for _ in 0..<roundTrips {
                            let value = try await pings.receive()
                            pingSender.value = pings.sender()
                            try sendOnce(value, through: pongSender)
                        }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for trip in 0..<roundTrips {
                            pongSender.value = pongs.sender()
                            try sendOnce(trip, through: pingSender)
                            sum.value &+= try await pongs.receive()
                        }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                try done.wait(parts: 2)
            }
            try BenchError.checkSum(sum.value, count: roundTrips)
        }
    }

    /// Takes the sender out of `slot`, sends `value` and drops the sender, all before the
    /// caller's next `await`, so that the receiver can recycle it for the next round.
    private static func sendOnce(_ value: Int, through slot: Confined<MultishotSender<Int>?>) throws {
        guard let sender = slot.value.take() else { throw BenchError("no sender in the slot") }
        sender.send(value)
    }

    /// `AsyncStream`: two streams, one each way.
    static func asyncStreamSameLoop(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncStream") { context in
            let roundTrips = context.operations
            let (pings, pingContinuation) = AsyncStream.makeStream(of: Int.self)
            let (pongs, pongContinuation) = AsyncStream.makeStream(of: Int.self)
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var received = 0
                    for await value in pings {
                        pongContinuation.yield(value)
                        received += 1
                        if received == roundTrips { break }
                    }
                    done.finish()
                }
                Task(executorPreference: environment.dispatcher) {
                    var replies = pongs.makeAsyncIterator()
                    for trip in 0..<roundTrips {
                        pingContinuation.yield(trip)
                        sum.value &+= await replies.next() ?? 0
                    }
                    done.finish()
                }
                try done.wait(parts: 2)
            }
            try BenchError.checkSum(sum.value, count: roundTrips)
        }
    }

    /// `CheckedContinuation`: the minimal hand-off between two tasks of one loop — a
    /// ``LoopBaton`` each way, a stored continuation resumed by the other task.
    static func checkedContinuationSameLoop(_ environment: BenchEnvironment) -> Implementation {
        batonSameLoop(environment, name: "CheckedContinuation", waiting: .checked)
    }

    /// `UnsafeContinuation-floor`: the same hand-off with `UnsafeContinuation` (no canary
    /// allocation, no cancellation handler) — the runtime's floor for any task-to-task wake
    /// on a loop: two suspensions and two resumptions per round trip, nothing else.
    static func unsafeContinuationSameLoop(_ environment: BenchEnvironment) -> Implementation {
        batonSameLoop(
            environment,
            name: "UnsafeContinuation-floor",
            note: "UnsafeContinuation-floor: a stored UnsafeContinuation each way, not cancellable; "
                + "the Swift runtime's own cost of suspending and resuming a loop task",
            waiting: .unsafe
        )
    }

    /// `CancellableContinuation-floor`: the same with a cancellation handler registered
    /// around each wait (the executor-inheriting one the library's wait paths use) — the
    /// floor of any wait a cancelled task can leave. Its handler is never called here.
    static func cancellableContinuationSameLoop(_ environment: BenchEnvironment) -> Implementation {
        batonSameLoop(
            environment,
            name: "CancellableContinuation-floor",
            note: "CancellableContinuation-floor: UnsafeContinuation-floor plus a cancellation handler around "
                + "each wait; the floor of a cancellable wait",
            waiting: .unsafeCancellable
        )
    }

    private static func batonSameLoop(
        _ environment: BenchEnvironment,
        name: String,
        note: String? = nil,
        waiting: LoopBaton.Waiting
    ) -> Implementation {
        Implementation(name, note: note) { context in
            let roundTrips = context.operations
            let ping = LoopBaton(waiting)
            let pong = LoopBaton(waiting)
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    for _ in 0..<roundTrips { pong.pass(await ping.take()) }
                    done.finish()
                }
                Task(executorPreference: environment.dispatcher) {
                    for trip in 0..<roundTrips {
                        ping.pass(trip)
                        sum.value &+= await pong.take()
                    }
                    done.finish()
                }
                try done.wait(parts: 2)
            }
            try BenchError.checkSum(sum.value, count: roundTrips)
        }
    }
}

/// A one-value hand-off between tasks of one loop: a stored continuation (checked or
/// unsafe), or the value when it comes before the taker.
///
/// Used by the tasks of one loop thread only, so it needs no lock.
final class LoopBaton: @unchecked Sendable {
    /// How `take()` waits.
    enum Waiting {
        /// `withCheckedContinuation`.
        case checked
        /// `withUnsafeContinuation`.
        case unsafe
        /// `withUnsafeContinuation` inside a cancellation handler.
        case unsafeCancellable
    }

    private let waiting: Waiting
    // Two plain optionals rather than one enum of both: a two-payload enum costs the
    // `CheckedContinuation` peer generic enum-case calls on every pass (about 800
    // instructions per round trip).
    private var checkedWaiter: CheckedContinuation<Int, Never>?  // loop thread only
    private var unsafeWaiter: UnsafeContinuation<Int, Never>?  // loop thread only
    private var pending: Int?  // loop thread only

    init(_ waiting: Waiting) {
        self.waiting = waiting
    }

    /// Gives `value` to the waiting taker, or keeps it for the next one.
    func pass(_ value: Int) {
        if let waiter = checkedWaiter {
            checkedWaiter = nil
            waiter.resume(returning: value)
        } else if let waiter = unsafeWaiter {
            unsafeWaiter = nil
            waiter.resume(returning: value)
        } else {
            precondition(pending == nil, "LoopBaton holds one value at a time")
            pending = value
        }
    }

    /// The passed value, waiting for it if it has not come yet.
    nonisolated(nonsending) func take() async -> Int {
        if let value = pending {
            pending = nil
            return value
        }
        switch waiting {
        case .checked:
            return await withCheckedContinuation { checkedWaiter = $0 }
        case .unsafe:
            return await withUnsafeContinuation { unsafeWaiter = $0 }
        case .unsafeCancellable:
            return await _unsafeInheritExecutor_withTaskCancellationHandler {
                await withUnsafeContinuation { unsafeWaiter = $0 }
            } onCancel: {
            }
        }
    }
}

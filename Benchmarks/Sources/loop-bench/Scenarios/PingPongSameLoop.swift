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
                .asyncStreamSameLoop(environment),
                .checkedContinuationSameLoop(environment),
                .unsafeContinuationSameLoop(environment),
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

    /// `AsyncChannel` (ours): two channels, one each way; `send` then `recv`.
    static func asyncChannelSameLoop(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncChannel", syscalls: .dispatcherCounters) { context in
            let roundTrips = context.operations
            let pings = AsyncChannels.AsyncChannel<Int>()
            let pongs = AsyncChannels.AsyncChannel<Int>()
            let done = Completion()
            let sum = Confined(0)
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for _ in 0..<roundTrips { try pongs.send(try await pings.recv()) }
                        done.finish()
                    } catch {
                        done.fail(error)
                    }
                }
                Task(executorPreference: environment.dispatcher) {
                    do {
                        for trip in 0..<roundTrips {
                            try pings.send(trip)
                            sum.value &+= try await pongs.recv()
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
        batonSameLoop(environment, name: "CheckedContinuation", checked: true)
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
            checked: false
        )
    }

    private static func batonSameLoop(
        _ environment: BenchEnvironment,
        name: String,
        note: String? = nil,
        checked: Bool
    ) -> Implementation {
        Implementation(name, note: note) { context in
            let roundTrips = context.operations
            let ping = LoopBaton(checked: checked)
            let pong = LoopBaton(checked: checked)
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
    private enum Waiter {
        case checked(CheckedContinuation<Int, Never>)
        case unsafe(UnsafeContinuation<Int, Never>)
    }

    private let checked: Bool
    private var waiter: Waiter?  // loop thread only
    private var pending: Int?  // loop thread only

    /// - Parameter checked: whether `take()` waits with a `CheckedContinuation` (else an
    ///   `UnsafeContinuation`).
    init(checked: Bool) {
        self.checked = checked
    }

    /// Gives `value` to the waiting taker, or keeps it for the next one.
    func pass(_ value: Int) {
        switch waiter {
        case .checked(let continuation):
            waiter = nil
            continuation.resume(returning: value)
        case .unsafe(let continuation):
            waiter = nil
            continuation.resume(returning: value)
        case nil:
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
        if checked { return await withCheckedContinuation { waiter = .checked($0) } }
        return await withUnsafeContinuation { waiter = .unsafe($0) }
    }
}

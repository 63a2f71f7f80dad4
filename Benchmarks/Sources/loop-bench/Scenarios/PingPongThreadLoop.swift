import AsyncChannels
import CBenchSupport
import Dispatch
import EventLoop
import Glibc
import Hatch

extension Scenario {
    /// Round trips between the harness's plain thread and a task on a loop.
    static func pingPongThreadLoop(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "pingpong-thread-loop",
            summary: "one round trip between a plain thread and a loop task",
            operations: 20_000,
            quickOperations: 1_000,
            reference: "eventfd-floor",
            implementations: IdlePolicyRun.all.flatMap { run in
                [
                    Implementation.asyncChannelPingPong(environment, run),
                    .threadSignalPingPong(environment, run),
                    .hatchPingPong(environment, run),
                ]
            } + [
                .asyncStreamSemaphorePingPong(environment),
                .nioExecuteSemaphorePingPong(environment),
                .eventfdFloorPingPong(),
            ]
        )
    }
}

/// One idle policy our implementations run under, on both sides: the loop's
/// (`Dispatcher.idlePolicy` of the environment's loop) and the harness thread's blocking
/// waits (`IdlePolicy.currentThread`). Each gives every one of our implementations a row,
/// named with its suffix: `AsyncChannel (adaptive)`, `AsyncChannel (no spin)`.
struct IdlePolicyRun: Sendable {
    let suffix: String
    let policy: IdlePolicy

    /// The default policy and `.never`.
    static let all = [
        IdlePolicyRun(suffix: "adaptive", policy: .adaptive), IdlePolicyRun(suffix: "no spin", policy: .never),
        IdlePolicyRun(suffix: "spin", policy: .spin(for: .microseconds(50))),
    ]

    /// `name (suffix)`.
    func name(_ implementation: String) -> String { "\(implementation) (\(suffix))" }

    /// Runs `body` with the policy in force on `dispatcher`'s loop and on the calling thread,
    /// and puts back the policies that were in force before.
    func apply(to dispatcher: Dispatcher, _ body: () throws -> Void) rethrows {
        let loopPolicy = dispatcher.idlePolicy
        let threadPolicy = IdlePolicy.currentThread
        dispatcher.idlePolicy = policy
        IdlePolicy.currentThread = policy
        defer {
            dispatcher.idlePolicy = loopPolicy
            IdlePolicy.currentThread = threadPolicy
        }
        try body()
    }
}

extension Implementation {
    /// `AsyncChannel` (ours): two channels; the loop task `receive()`s and sends back, the
    /// thread sends and blocks in `receiveSync()`.
    static func asyncChannelPingPong(_ environment: BenchEnvironment, _ run: IdlePolicyRun) -> Implementation {
        Implementation(run.name("AsyncChannel"), syscalls: .dispatcherCounters) { context in
            let roundTrips = context.operations
            let pings = AsyncChannels.AsyncChannel<Int>()
            let pongs = AsyncChannels.AsyncChannel<Int>()
            let done = Completion()
            try run.apply(to: environment.dispatcher) {
                try context.measure {
                    startChannelEcho(
                        pings: pings, pongs: pongs, roundTrips: roundTrips, done: done, on: environment.dispatcher)
                    for trip in 0..<roundTrips {
                        try pings.send(trip)
                        try BenchError.check(try pongs.receiveSync() == trip, "round trip \(trip) got a wrong reply")
                    }
                    try done.wait()
                }
            }
        }
    }

    /// `Hatch` (ours): two hatches; the loop task awaits `receive()` and answers with
    /// `trySend`. A hatch has no blocking receive, so the thread side waits on a
    /// `ThreadSignal` fired beside the reply, then takes it with `tryReceive()`.
    static func hatchPingPong(_ environment: BenchEnvironment, _ run: IdlePolicyRun) -> Implementation {
        Implementation(
            run.name("Hatch"),
            note: "Hatch (pingpong-thread-loop): the thread side waits on a ThreadSignal fired beside each reply",
            syscalls: .dispatcherCounters
        ) { context in
            let roundTrips = context.operations
            let (pingSender, pingReceiver) = makeHatch(of: Int.self)
            let (pongSender, pongReceiver) = makeHatch(of: Int.self)
            let replied = try ThreadSignal()
            let done = Completion()
            try run.apply(to: environment.dispatcher) {
                try context.measure {
                    Task(executorPreference: environment.dispatcher) {
                        do {
                            for _ in 0..<roundTrips {
                                try pongSender.trySend(try await pingReceiver.receive())
                                replied.fire()
                            }
                            done.finish()
                        } catch {
                            done.fail(error)
                        }
                    }
                    for trip in 0..<roundTrips {
                        try pingSender.trySend(trip)
                        try BenchError.check(
                            replied.waitSync(timeout: .seconds(60)), "round trip \(trip) lost its reply")
                        try BenchError.check(
                            try pongReceiver.tryReceive() == trip, "round trip \(trip) got a wrong reply")
                    }
                    try done.wait()
                }
            }
        }
    }

    /// `ThreadSignal` (ours): two signals; the task `wait()`s and fires back, the thread
    /// fires and `waitSync`s.
    static func threadSignalPingPong(_ environment: BenchEnvironment, _ run: IdlePolicyRun) -> Implementation {
        Implementation(
            run.name("ThreadSignal"),
            note:
                "ThreadSignal: syscalls/op counts the dispatcher's eventfd writes and epoll waits only, not the signal's own eventfd ring and poll on the thread side",
            syscalls: .dispatcherCounters
        ) { context in
            let roundTrips = context.operations
            let ping = try ThreadSignal()
            let pong = try ThreadSignal()
            let done = Completion()
            try run.apply(to: environment.dispatcher) {
                try context.measure {
                    Task(executorPreference: environment.dispatcher) {
                        do {
                            for _ in 0..<roundTrips {
                                try await ping.wait()
                                pong.fire()
                            }
                            done.finish()
                        } catch {
                            done.fail(error)
                        }
                    }
                    for trip in 0..<roundTrips {
                        ping.fire()
                        try BenchError.check(pong.waitSync(timeout: .seconds(60)), "round trip \(trip) lost its reply")
                    }
                    try done.wait()
                }
            }
        }
    }

    /// `AsyncStream+semaphore`: the thread yields into a stream; the loop task answers by
    /// signalling a `DispatchSemaphore` that the thread waits on.
    static func asyncStreamSemaphorePingPong(_ environment: BenchEnvironment) -> Implementation {
        Implementation("AsyncStream+semaphore") { context in
            let roundTrips = context.operations
            let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
            let reply = DispatchSemaphore(value: 0)
            let done = Completion()
            try context.measure {
                Task(executorPreference: environment.dispatcher) {
                    var received = 0
                    for await _ in stream {
                        reply.signal()
                        received += 1
                        if received == roundTrips { break }
                    }
                    done.finish()
                }
                for trip in 0..<roundTrips {
                    continuation.yield(trip)
                    try wait(reply)
                }
                try done.wait()
            }
        }
    }

    /// `NIO.execute+semaphore`: the thread posts a closure to the NIO loop that signals a
    /// `DispatchSemaphore` the thread waits on (here the loop "task" is the NIO loop).
    static func nioExecuteSemaphorePingPong(_ environment: BenchEnvironment) -> Implementation {
        Implementation("NIO.execute+semaphore") { context in
            let roundTrips = context.operations
            let loop = environment.nioLoop
            let reply = DispatchSemaphore(value: 0)
            try context.measure {
                for _ in 0..<roundTrips {
                    loop.execute { reply.signal() }
                    try wait(reply)
                }
            }
        }
    }

    /// `eventfd-floor`: two plain threads ping-pong through two eventfds with blocking
    /// `write` and `read` — four system calls and two thread wake-ups per round trip, the
    /// physical floor of any thread ↔ loop round trip that sleeps.
    static func eventfdFloorPingPong() -> Implementation {
        Implementation(
            "eventfd-floor",
            note:
                "eventfd-floor: two plain threads, blocking read/write on two eventfds; 4 syscalls per round trip by construction",
            syscalls: .fixed(4)
        ) { context in
            let roundTrips = context.operations
            let there = cbs_eventfd()
            let back = cbs_eventfd()
            defer {
                close(there)
                close(back)
            }
            try BenchError.check(there >= 0 && back >= 0, "eventfd failed: \(String(cString: strerror(errno)))")
            try context.measure {
                let echo = PlainThread {
                    var value: UInt64 = 0
                    for _ in 0..<roundTrips {
                        guard cbs_eventfd_read(there, &value) == 0, cbs_eventfd_write(back, 1) == 0 else { return }
                    }
                }
                var value: UInt64 = 0
                for trip in 0..<roundTrips {
                    try BenchError.check(
                        cbs_eventfd_write(there, 1) == 0 && cbs_eventfd_read(back, &value) == 0,
                        "eventfd round trip \(trip) failed: \(String(cString: strerror(errno)))"
                    )
                }
                echo.join()
            }
        }
    }
}

import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import Hatch

/// A plain thread posting to a task that runs on a `LoopThread`'s dispatcher through each
/// primitive, and randomized multi-thread interleavings (scaled by `stressFactor`).
@Suite("Hatch primitives across threads and loops", .stressTimeLimit)
struct LoopAndStressTests {
    @Test func plainThreadToLoopTaskThroughAHatch() async throws {
        let loop = try LoopThread(name: "hatch-test")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let (s, r) = makeHatch(of: Int.self)
        let count = 1_000 * stressFactor
        let consumer = Task(executorPreference: dispatcher) { () -> Bool in
            var expected = 0
            var alwaysOnLoop = true
            while let value = try? await r.receive() {
                alwaysOnLoop = alwaysOnLoop && dispatcher.inLoop
                #expect(value == expected)
                expected += 1
            }
            #expect(expected == count)
            return alwaysOnLoop
        }
        let producer = PlainThread {
            for i in 0..<count {
                var value = i
                while true {
                    do throws(HatchSendError<Int>) {
                        try s.trySend(value)
                        break
                    } catch {
                        guard case .full(let back) = error else { Issue.record("closed"); return }
                        value = back
                        sched_yield()
                    }
                }
            }
            s.close()
        }
        #expect(await consumer.value, "every wake-up resumed the task on its dispatcher")
        await producer.join()
    }

    @Test func plainThreadToLoopTaskThroughMultishot() async throws {
        let loop = try LoopThread(name: "multishot-test")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let receiver = MultishotReceiver<Int>()
        let mailbox = makeHatch(of: MultishotSender<Int>.self)  // hands each round's sender over
        let rounds = 500 * stressFactor
        let consumer = Task(executorPreference: dispatcher) { () -> Int in
            var sum = 0
            for round in 0..<rounds {
                let sender = receiver.sender()!
                try! mailbox.sender.trySend(sender)
                _ = consume sender
                let value = try! await receiver.receive()
                #expect(value == round && dispatcher.inLoop)
                sum += value
            }
            return sum
        }
        let producer = PlainThread {
            for round in 0..<rounds {
                var sender: MultishotSender<Int>? = nil
                spinUntil {
                    sender = try! mailbox.receiver.tryReceive()
                    return sender != nil
                }
                sender!.send(round)
            }
        }
        #expect(await consumer.value == (0..<rounds).reduce(0, +))
        await producer.join()
    }

    @Test func plainThreadToLoopTaskThroughAWakeSink() async throws {
        let loop = try LoopThread(name: "wakesink-test")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let sink = WakeSink()
        let source = sink.source()
        let counter = Counter()
        let target = 1_000 * stressFactor
        let consumer = Task(executorPreference: dispatcher) { () -> Bool in
            var seen = 0
            var onLoop = true
            while seen < target {
                seen = try await sink.wait { counter.value > seen ? counter.value : nil }
                onLoop = onLoop && dispatcher.inLoop
            }
            return onLoop
        }
        let producer = PlainThread {
            for _ in 0..<target {
                counter.add(1)
                source.notify()
            }
        }
        #expect(try await consumer.value)
        await producer.join()
    }

    @Test func pingPongTwoTasksOnOneLoop() async throws {
        let loop = try LoopThread(name: "ping-pong")
        defer { loop.shutdown() }
        let (ping, pingIn) = makeHatch(of: Int.self)
        let (pong, pongIn) = makeHatch(of: Int.self)
        let rounds = 2_000 * stressFactor
        let echo = Task(executorPreference: loop.dispatcher) {
            while let value = try? await pingIn.receive() { try? await pong.send(value + 1) }
        }
        let total = try await Task(executorPreference: loop.dispatcher) { () -> Int in
            var value = 0
            for _ in 0..<rounds {
                try await ping.send(value)
                value = try await pongIn.receive()
            }
            ping.close()
            return value
        }.value
        #expect(total == rounds)
        await echo.value
    }

    /// Random interleavings of a producer thread (trySend, overwrite, close) and a consumer
    /// task (receive, tryReceive, cancellation): every value is received at most once, in
    /// order, and the receiver always ends with `closed`.
    @Test(.heavyStress, arguments: [UInt64(1), 2, 3, 4])
    func randomizedHatchInterleavings(seed: UInt64) async throws {
        let iterations = 40 * stressFactor
        for iteration in 0..<iterations {
            try Task.checkCancellation()  // a time limit ends the test, not each iteration
            var rng = SeededRandom(seed: seed &* 1_000_003 &+ UInt64(iteration))
            let (s, r) = makeHatch(of: Tracked.self)
            let overwrite = Bool.random(using: &rng)
            s.overwrites = overwrite
            let count = Int.random(in: 1...200, using: &rng)
            let producerSeed = rng.next()
            let producer = PlainThread {
                var rng = SeededRandom(seed: producerSeed)
                var i = 0
                while i < count {
                    do throws(HatchSendError<Tracked>) {
                        try s.trySend(Tracked(i))
                        i += 1
                    } catch {
                        guard case .full = error else { return }
                        if Bool.random(using: &rng) { sched_yield() }
                    }
                }
                s.close()
            }
            var last = -1
            var cancelledOnce = false
            while true {
                do {
                    let value: Tracked?
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: value = try r.tryReceive()
                    case 1 where !cancelledOnce:
                        cancelledOnce = true
                        let t = Task { try await r.receive() }
                        t.cancel()
                        value = try? await t.value
                    default: value = try await r.receive()
                    }
                    if let value {
                        #expect(value.id > last)
                        if !overwrite { #expect(value.id == last + 1) }
                        last = value.id
                    }
                } catch {
                    #expect(error as? HatchClosedError == .closed)
                    break
                }
            }
            #expect(last == count - 1, "the last value sent before the sender left arrives")
            // On every exit (a failure, the time limit's cancellation) the producer must end:
            // a closed receiver turns its next trySend into `closed`.
            r.close()
            await producer.join()
        }
    }

    /// Both sides close or are released at random moments while the other is busy, then
    /// the survivor recovers: nothing hangs, nothing leaks, the recovered pair works.
    @Test(.heavyStress) func randomizedCloseAndRecover() async throws {
        let live = Counter()
        for iteration in 0..<(100 * stressFactor) {
            var rng = SeededRandom(seed: UInt64(iteration))
            let (s, r) = makeHatch(of: Tracked.self)
            let closeReceiver = Bool.random(using: &rng)
            let sends = Int.random(in: 0...5, using: &rng)
            let thread = PlainThread {
                for i in 0..<sends { _ = try? s.trySend(Tracked(i, live: live)) }
                if !closeReceiver { s.close() }
            }
            if closeReceiver {
                for _ in 0..<Int.random(in: 0...3, using: &rng) { _ = try? r.tryReceive() }
                r.close()
            } else {
                while (try? await r.receive()) != nil {}
            }
            await thread.join()
            if closeReceiver {
                let r2 = try s.recover()
                try s.trySend(Tracked(99))
                #expect(try r2.tryReceive()?.id == 99)
            } else {
                let s2 = try r.recover()
                try s2.trySend(Tracked(98))
                #expect(try await r.receive().id == 98)
            }
        }
        #expect(live.value == 0, "every value was released")
    }

    /// Several hatches hammered by threads on both ends with the non-suspending API.
    @Test(.heavyStress) func threadsOnBothEnds() async {
        let count = 5_000 * stressFactor
        let (s, r) = makeHatch(of: Int.self)
        let received = Counter()
        let sum = Counter()
        await onPlainThreads(2) { index in
            if index == 0 {
                for i in 1...count {
                    spinUntil {
                        do {
                            try s.trySend(i)
                            return true
                        } catch {
                            return false
                        }
                    }
                }
            } else {
                while received.value < count {
                    if let v = try? r.tryReceive() {
                        received.add(1)
                        sum.add(v)
                    } else {
                        sched_yield()  // the producer may be waiting for this CPU
                    }
                }
            }
        }
        #expect(sum.value == count * (count + 1) / 2)
    }
}

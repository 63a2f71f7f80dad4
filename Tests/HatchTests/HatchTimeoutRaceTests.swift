import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@testable import Hatch

/// Short timeouts racing sends, on a hatch and on multishot rounds, with a consumer task on a
/// loop and a consumer plain thread: every value is accounted for exactly once (received,
/// left in the hatch, or handed back by a failed send), and the loop keeps no timer.
/// 2,000 values per pair quick, scaled by `stressFactor`.
@Suite("Hatch timeouts racing sends", .stressTimeLimit(quick: 2), .heavyStress)
struct HatchTimeoutRaceTests {
    static var total: Int { 2_000 * stressFactor }

    /// A producer thread sending `0..<total` with `sendSync(_:timeout:)` (0–50 µs); a send that
    /// times out hands its value back and the producer moves on to the next.
    static func produce(_ sender: HatchSender<Int>, total: Int, seed: UInt64, done: Counter) -> (PlainThread, Bitmap) {
        let handedBack = Bitmap(count: total)
        let thread = PlainThread {
            var rng = SeededRandom(seed: seed)
            for i in 0..<total {
                do throws(HatchSendError<Int>) {
                    try sender.sendSync(i, timeout: .microseconds(Int64(rng.next() % 50)))
                } catch {
                    handedBack.insert(error.value)
                }
                if rng.oneIn(8) { sched_yield() }
            }
            done.store(1)
        }
        return (thread, handedBack)
    }

    @Test func timeoutsRacingAHatchLoseAndDuplicateNothing() async throws {
        let seed = reliabilitySeeds(1)[0]
        let total = Self.total
        let loop = try LoopThread(name: "hatch-race")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher
        let (loopSender, loopReceiver) = makeHatch(of: Int.self)
        let (threadSender, threadReceiver) = makeHatch(of: Int.self)
        let loopDone = Counter()
        let threadDone = Counter()
        let (loopProducer, loopHandedBack) = Self.produce(loopSender, total: total, seed: seed, done: loopDone)
        let (threadProducer, threadHandedBack) = Self.produce(
            threadSender, total: total, seed: seed &+ 1, done: threadDone)

        // A consumer task on the loop: timeouts and deadlines of 0–50 µs, some waits in
        // cancelled child tasks. It stops at the first timeout of a wait that began after the
        // producer had finished: the hatch was empty then, and nothing more comes.
        let onLoop = Task(executorPreference: dispatcher) { () -> (Bitmap, Int) in
            var rng = SeededRandom(seed: seed &+ 2)
            let received = Bitmap(count: total)
            var timeouts = 0
            while true {
                let finished = loopDone.value == 1
                let timeout = Duration.microseconds(Int64(rng.next() % 50))
                do {
                    switch rng.next() % 16 {
                    case 0:
                        let child = Task(executorPreference: dispatcher) {
                            try await loopReceiver.receive(timeout: timeout)
                        }
                        child.cancel()
                        if let value = try? await child.value { received.insert(value) }
                        continue
                    case 1:
                        received.insert(try await loopReceiver.receive(deadline: .now + timeout))
                    default:
                        received.insert(try await loopReceiver.receive(timeout: timeout))
                    }
                } catch let error as HatchWaitError where error == .timedOut {
                    timeouts += 1
                    if finished { break }
                } catch {
                    Issue.record("unexpected \(error), \(replayHint(seed))")
                    break
                }
            }
            return (received, timeouts)
        }
        // A consumer plain thread with `receiveSync(timeout:)`, stopping the same way.
        let threadReceived = Bitmap(count: total)
        let threadTimeouts = Counter()
        let onThread = PlainThread {
            var rng = SeededRandom(seed: seed &+ 3)
            while true {
                let finished = threadDone.value == 1
                do {
                    threadReceived.insert(
                        try threadReceiver.receiveSync(timeout: .microseconds(Int64(rng.next() % 50))))
                } catch let error as HatchWaitError where error == .timedOut {
                    threadTimeouts.add()
                    if finished { break }
                } catch {
                    Issue.record("unexpected \(error), \(replayHint(seed))")
                    break
                }
            }
        }
        await loopProducer.join()
        await threadProducer.join()
        let (loopReceived, loopTimeouts) = await onLoop.value
        await onThread.join()

        for (receiver, received, handedBack) in [
            (loopReceiver, loopReceived, loopHandedBack), (threadReceiver, threadReceived, threadHandedBack),
        ] {
            let left = Bitmap(count: total)
            while let value = try receiver.tryReceive() { left.insert(value) }
            let (missing, duplicated) = Bitmap.partition([received, handedBack, left], count: total)
            #expect(
                missing == 0 && duplicated == 0, "missing \(missing), duplicated \(duplicated), \(replayHint(seed))")
            #expect(!receiver.hasSuspendedReceive)
        }
        #expect(loopTimeouts >= 1 && threadTimeouts.value >= 1, "each consumer's last wait timed out")
        #expect(await dispatcher.armedTimers == 0, "no timer left behind on the loop")
    }

    /// Multishot rounds: the consumer starts a round, hands its sender to a producer thread
    /// through a mailbox, and receives with short timeouts, waiting again after each timeout
    /// (the round stays open) until the value or the round's end. The producer sends the
    /// round's number, or now and then releases the sender without sending.
    @Test func timeoutsRacingMultishotRoundsLoseNothing() async throws {
        let seed = reliabilitySeeds(1)[0]
        let rounds = Self.total / 2
        let loop = try LoopThread(name: "multishot-race")
        defer { loop.shutdown() }
        let dispatcher = loop.dispatcher

        /// One pair: the producer thread and its outcome (rounds it dropped).
        final class Pair: Sendable {
            let receiver = MultishotReceiver<Int>()
            let mailbox: LockedValue<MultishotSender<Int>?>
            let stop: Counter
            let dropped: Bitmap
            let producer: PlainThread

            init(rounds: Int, seed: UInt64) {
                let mailbox = LockedValue<MultishotSender<Int>?>(nil)
                let stop = Counter()
                let dropped = Bitmap(count: rounds)
                self.mailbox = mailbox
                self.stop = stop
                self.dropped = dropped
                producer = PlainThread {
                    var rng = SeededRandom(seed: seed)
                    for round in 0..<rounds {
                        var sender: MultishotSender<Int>? = nil
                        spinUntil("the round's sender") {
                            sender = mailbox.withLock { $0.take() }
                            return sender != nil || stop.value == 1
                        }
                        guard let sender else { return }
                        if rng.oneIn(4) { sched_yield() }  // gaps in which waits time out
                        if rng.oneIn(8) {
                            dropped.insert(round)
                            continue  // released without sending
                        }
                        sender.send(round)
                    }
                }
            }

            /// Starts round `round`; nil when the previous round is not over (a failure).
            func start() -> Bool {
                guard let sender = receiver.sender() else { return false }
                mailbox.withLock { $0 = sender }
                return true
            }
        }

        /// What the consumer saw: rounds received with their own number, closed rounds,
        /// and anything else.
        struct Seen: Sendable {
            var received = 0
            var closed: Bitmap
            var wrong = 0
            var timeouts = 0
        }

        let onLoopPair = Pair(rounds: rounds, seed: seed)
        let onThreadPair = Pair(rounds: rounds, seed: seed &+ 1)
        let onLoop = Task(executorPreference: dispatcher) { () -> Seen in
            var rng = SeededRandom(seed: seed &+ 2)
            var seen = Seen(closed: Bitmap(count: rounds))
            for round in 0..<rounds {
                guard onLoopPair.start() else {
                    seen.wrong += 1
                    break
                }
                while true {
                    let timeout = Duration.microseconds(Int64(rng.next() % 50))
                    do {
                        let value =
                            rng.oneIn(4)
                            ? try await onLoopPair.receiver.receive(deadline: .now + timeout)
                            : try await onLoopPair.receiver.receive(timeout: timeout)
                        if value == round { seen.received += 1 } else { seen.wrong += 1 }
                        break
                    } catch let error as HatchWaitError where error == .timedOut {
                        seen.timeouts += 1
                    } catch is HatchClosedError {
                        seen.closed.insert(round)
                        break
                    } catch {
                        seen.wrong += 1
                        break
                    }
                }
            }
            // A last round whose sender never sends: this wait can only time out.
            if let last = onLoopPair.receiver.sender() {
                do {
                    _ = try await onLoopPair.receiver.receive(timeout: .milliseconds(1))
                } catch let error as HatchWaitError where error == .timedOut {
                    seen.timeouts += 1
                } catch {}
                _ = last
            }
            return seen
        }
        let threadSeen = LockedValue<Seen?>(nil)
        let onThread = PlainThread {
            var rng = SeededRandom(seed: seed &+ 3)
            var seen = Seen(closed: Bitmap(count: rounds))
            for round in 0..<rounds {
                guard onThreadPair.start() else {
                    seen.wrong += 1
                    break
                }
                while true {
                    do {
                        let value = try onThreadPair.receiver.receiveSync(
                            timeout: .microseconds(Int64(rng.next() % 50)))
                        if value == round { seen.received += 1 } else { seen.wrong += 1 }
                        break
                    } catch let error as HatchWaitError where error == .timedOut {
                        seen.timeouts += 1
                    } catch is HatchClosedError {
                        seen.closed.insert(round)
                        break
                    } catch {
                        seen.wrong += 1
                        break
                    }
                }
            }
            if let last = onThreadPair.receiver.sender() {
                do {
                    _ = try onThreadPair.receiver.receiveSync(timeout: .milliseconds(1))
                } catch let error as HatchWaitError where error == .timedOut {
                    seen.timeouts += 1
                } catch {}
                _ = last
            }
            threadSeen.withLock { $0 = seen }
        }
        let loopSeen = await onLoop.value
        await onThread.join()
        // A consumer that stopped early leaves its producer waiting for a sender: stop it.
        onLoopPair.stop.store(1)
        onThreadPair.stop.store(1)
        await onLoopPair.producer.join()
        await onThreadPair.producer.join()

        for (pair, seen) in [(onLoopPair, loopSeen), (onThreadPair, threadSeen.withLock { $0 }!)] {
            #expect(seen.wrong == 0, "\(replayHint(seed))")
            #expect(seen.received + seen.closed.count == rounds)
            // Rounds both dropped and seen closed count as "duplicated" here: all of them must be.
            let (_, both) = Bitmap.partition([pair.dropped, seen.closed], count: rounds)
            #expect(
                seen.closed.count == pair.dropped.count && both == pair.dropped.count,
                "the closed rounds are exactly the dropped ones, \(replayHint(seed))")
            #expect(!pair.receiver.isWaiting)
            #expect(seen.timeouts >= 1, "the last wait timed out (\(seen.timeouts) timeouts in all)")
        }
        #expect(await dispatcher.armedTimers == 0, "no timer left behind on the loop")
    }
}

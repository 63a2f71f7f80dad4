import EventLoop
import Glibc
import Hatch
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// Randomized interleavings of hatch, multishot and WakeSink across a loop task, the global
/// executor and plain threads: 10,000 steps each at the quick size, 1,000,000 with
/// `LOOPCHANNELS_STRESS=1`. Every value is accounted for exactly once and released.
@Suite("Reliability: hatch primitives stress", .stressTimeLimit(quick: 10), .heavyStress)
struct ReliabilityHatchStressTests {
    static var steps: Int { 10_000 * stressFactor }

    /// A plain-thread producer (trySend, overwrites toggled at random) and a consumer task on
    /// a loop (receive, tryReceive, receives in cancelled child tasks): each value is received
    /// once, in order, or handed back by an overwrite; none is lost or leaked.
    @Test func hatchPlainThreadProducerLoopConsumer() async throws {
        let seed = reliabilitySeeds(1)[0]
        let total = Self.steps
        let live = Counter()
        let loop = try LoopThread(name: "hatch-consumer")
        defer { loop.shutdown() }
        let (sender, receiver) = makeHatch(of: Tracked.self)
        let replaced = Bitmap(count: total)
        let producer = PlainThread {
            var rng = SeededRandom(seed: seed)
            var pending: Tracked? = nil
            var id = 0
            while id < total {
                if rng.oneIn(16) { sender.overwrites.toggle() }
                let value = pending ?? Tracked(id, live: live)
                pending = nil
                do throws(HatchSendError<Tracked>) {
                    if let old = try sender.trySend(value) { replaced.insert(old.id) }
                    id += 1
                } catch {
                    guard case .full(let back) = error else { return }
                    pending = back
                    if rng.oneIn(4) { sched_yield() }
                }
            }
            sender.close()
        }
        let dispatcher = loop.dispatcher
        let (received, outOfOrder) = await Task(executorPreference: dispatcher) { () -> (Bitmap, Int) in
            var rng = SeededRandom(seed: seed &+ 1)
            let received = Bitmap(count: total)
            var last = -1
            var outOfOrder = 0
            while true {
                let value: Tracked?
                do {
                    switch rng.next() % 8 {
                    case 0: value = try receiver.tryReceive()
                    case 1:
                        let child = Task(executorPreference: dispatcher) { try await receiver.receive() }
                        if rng.oneIn(2) { await Task.yield() }
                        child.cancel()
                        switch await child.result {
                        case .success(let got): value = got
                        case .failure(let error as HatchClosedError): throw error
                        case .failure: value = nil  // cancelled: nothing was taken
                        }
                    default: value = try await receiver.receive()
                    }
                } catch {
                    break
                }
                if let value {
                    if value.id <= last { outOfOrder += 1 }
                    last = value.id
                    received.insert(value.id)
                }
            }
            return (received, outOfOrder)
        }.value
        // On every exit (the time limit's cancellation included) the producer must end: a
        // closed receiver turns its next trySend into `closed`.
        receiver.close()
        await producer.join()
        let (missing, duplicated) = Bitmap.partition([received, replaced], count: total)
        #expect(missing == 0 && duplicated == 0 && outOfOrder == 0, "\(replayHint(seed))")
        #expect(live.value == 0, "every value was released")
    }

    /// A producer task on the global executor (async send, cancelled sends, lazy sends) and a
    /// plain-thread consumer polling with tryReceive: every value arrives once, in order.
    @Test func hatchTaskProducerPlainThreadConsumer() async throws {
        let seed = reliabilitySeeds(1)[0]
        let total = Self.steps
        let live = Counter()
        let (sender, receiver) = makeHatch(of: Tracked.self)
        let received = Bitmap(count: total)
        let outOfOrder = Counter()
        let consumer = PlainThread {
            var last = -1
            while true {
                do throws(HatchClosedError) {
                    guard let value = try receiver.tryReceive() else {
                        sched_yield()
                        continue
                    }
                    if value.id != last + 1 { outOfOrder.add(1) }
                    last = value.id
                    received.insert(value.id)
                } catch {
                    return
                }
            }
        }
        let produced = await Task.detached {
            var rng = SeededRandom(seed: seed)
            for id in 0..<total {
                var value = Tracked(id, live: live)
                while true {
                    if rng.oneIn(32) {
                        // A send in a task cancelled at a random moment: the value comes back as .cancelled.
                        let attempt = value
                        let child = Task { try await sender.send(attempt) }
                        if rng.oneIn(2) { await Task.yield() }
                        child.cancel()
                        switch await child.result {
                        case .success: break
                        case .failure(let error):
                            guard case .cancelled(let back) = error as? HatchSendError<Tracked> else { throw error }
                            value = back
                            continue
                        }
                    } else {
                        try await sender.send(value)
                    }
                    break
                }
            }
            sender.close()
        }.result
        // However the producer ended, the consumer thread must: the closed sender ends it.
        sender.close()
        await consumer.join()
        try produced.get()
        #expect(received.count == total && outOfOrder.value == 0, "\(replayHint(seed))")
        #expect(live.value == 0)
    }

    enum Round: Sendable {
        case send(MultishotSender<Tracked>, id: Int)
        case drop(MultishotSender<Tracked>)
        case sendTwice(MultishotSender<Tracked>, id: Int)
        case stop
    }

    /// Multishot rounds between a receiver task on a loop and a plain thread that sends,
    /// sends twice or drops each round's sender, with cancelled receives: each round ends
    /// with exactly the outcome the sender chose, and recycled senders leak nothing.
    @Test func multishotRoundsAcrossALoopAndAThread() async throws {
        let seed = reliabilitySeeds(1)[0]
        let rounds = Self.steps
        let live = Counter()
        let loop = try LoopThread(name: "multishot")
        defer { loop.shutdown() }
        let mailbox = LockedValue<Round?>(nil)
        let secondSendsAccepted = Counter()
        let worker = PlainThread {
            while true {
                guard let round = mailbox.withLock({ $0.take() }) else {
                    sched_yield()
                    continue
                }
                switch round {
                case .send(let sender, let id): sender.send(Tracked(id, live: live))
                case .drop: break
                case .sendTwice(let sender, let id):
                    sender.send(Tracked(id, live: live))
                    if sender.send(Tracked(-1, live: live)) { secondSendsAccepted.add(1) }
                case .stop: return
                }
            }
        }
        let dispatcher = loop.dispatcher
        let receiver = MultishotReceiver<Tracked>()
        let mismatches = await Task(executorPreference: dispatcher) { () -> [String] in
            var rng = SeededRandom(seed: seed)
            var mismatches: [String] = []
            for id in 0..<rounds {
                let choice = rng.next() % 3
                // The sender goes straight into the mailbox: no local reference keeps it alive.
                let posted = mailbox.withLock { slot -> Bool in
                    guard let sender = receiver.sender() else { return false }
                    switch choice {
                    case 0: slot = .send(sender, id: id)
                    case 1: slot = .drop(sender)
                    default: slot = .sendTwice(sender, id: id)
                    }
                    return true
                }
                if !posted {
                    mismatches.append("round \(id): sender() returned nil after a completed round")
                    break
                }
                var outcome: Result<Int, any Error>
                if rng.oneIn(8) {
                    let child = Task(executorPreference: dispatcher) { try await receiver.receive().id }
                    if rng.oneIn(2) { await Task.yield() }
                    child.cancel()
                    switch await child.result {
                    case .failure(is CancellationError):
                        // Nothing was taken and the round is still open: receive again.
                        outcome = await result { try await receiver.receive().id }
                    case let result: outcome = result
                    }
                } else {
                    outcome = await result { try await receiver.receive().id }
                }
                switch (choice, outcome) {
                case (1, .failure(let error)) where error as? HatchClosedError == .closed: break
                case (0, .success(let value)), (2, .success(let value)):
                    if value != id { mismatches.append("round \(id): received \(value)") }
                default: mismatches.append("round \(id): choice \(choice) ended with \(outcome)")
                }
                if mismatches.count > 10 { break }
            }
            mailbox.withLock { $0 = .stop }
            return mismatches
        }.value
        await worker.join()
        #expect(mismatches.isEmpty, "\(mismatches); \(replayHint(seed))")
        #expect(secondSendsAccepted.value == 0, "a second send on one sender never delivers")
        #expect(live.value == 0, "every value, received or discarded, was released")
    }

    /// Two plain threads bump a counter and notify a WakeSink; a consumer task on a loop waits
    /// for random thresholds, sometimes in a child task cancelled at a random moment. No
    /// notification is lost (the consumer reaches the final count) and predicates hold.
    @Test func wakeSinkRandomThresholdsWithCancellations() async throws {
        let seed = reliabilitySeeds(1)[0]
        let perProducer = Self.steps / 2
        let total = perProducer * 2
        let loop = try LoopThread(name: "wake-sink")
        defer { loop.shutdown() }
        let sink = WakeSink()
        let counter = Counter()
        let producers = (0..<2).map { index in
            let source = sink.source()
            return PlainThread {
                var rng = SeededRandom(seed: seed &+ UInt64(index) &+ 1)
                for _ in 0..<perProducer {
                    counter.add(1)
                    source.notify()
                    if rng.oneIn(64) { sched_yield() }
                }
            }
        }
        let dispatcher = loop.dispatcher
        let (violations, finalCount) = try await Task(executorPreference: dispatcher) { () -> (Int, Int) in
            var rng = SeededRandom(seed: seed)
            var target = 0
            var violations = 0
            while target < total {
                target = min(total, target + Int(rng.next() % 16) + 1)
                let goal = target
                if rng.oneIn(8) {
                    let child = Task(executorPreference: dispatcher) {
                        try await sink.wait { counter.value >= goal ? counter.value : nil }
                    }
                    if rng.oneIn(2) { await Task.yield() }
                    child.cancel()
                    if case .success(let seen) = await child.result, seen < goal { violations += 1 }
                }
                let seen = try await sink.wait { counter.value >= goal ? counter.value : nil }
                if seen < goal { violations += 1 }
            }
            return (violations, counter.value)
        }.value
        for producer in producers { await producer.join() }
        #expect(violations == 0 && finalCount == total, "\(replayHint(seed))")
    }
}

/// The outcome of an async throwing call, as a `Result`.
private func result<T>(of body: () async throws -> T) async -> Result<T, any Error> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

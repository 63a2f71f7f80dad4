import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@testable import AsyncChannels

/// Soak: 4 producers and 4 consumers on two loops, the global executor and plain threads,
/// with cancelled receives and a close in the middle. 100,000 elements at the quick size,
/// 10,000,000 with `LOOPCHANNELS_STRESS=1`.
@Suite("Reliability: AsyncChannel soak")
struct ReliabilitySoakTests {
    /// Where one consumer ended up: the ids it received and FIFO violations it saw.
    final class ConsumerLog: @unchecked Sendable {
        // @unchecked Sendable: written by its one consumer, read after that consumer is joined.
        let received: Bitmap
        let producers: Int
        let perProducer: Int
        var lastSequence: [Int]
        var orderViolations = 0
        var cancelledReceives = 0

        init(total: Int, producers: Int) {
            received = Bitmap(count: total)
            self.producers = producers
            perProducer = total / producers
            lastSequence = Array(repeating: -1, count: producers)
        }

        func record(_ id: Int) {
            received.insert(id)
            let producer = id / perProducer
            let sequence = id % perProducer
            if sequence <= lastSequence[producer] { orderViolations += 1 }
            lastSequence[producer] = sequence
        }
    }

    @Test(.heavyStress, .stressTimeLimit(quick: 20))
    func fourProducersFourConsumersCancellationsAndACloseInTheMiddle() async throws {
        let seed = reliabilitySeeds(1)[0]
        let producers = 4
        let total = 100_000 * stressFactor
        let perProducer = total / producers
        let live = LiveCounter()
        let sent = Counter()

        let loopA = try LoopThread(name: "soak-a")
        let loopB = try LoopThread(name: "soak-b")
        let channel = AsyncChannel<Payload>()
        let handedBack = (0..<producers).map { _ in Bitmap(count: total) }

        // Producers: a task on each loop, one on the global executor, one plain thread. Every
        // producer tries all its ids; after the close each send fails and hands the element back.
        @Sendable func sendOne(_ id: Int, producer: Int) {
            do {
                try channel.send(Payload(id, counter: live))
                if sent.add() == total / 2 { channel.close() }
            } catch {
                handedBack[producer].insert(error.element.value)
            }
        }
        @Sendable func producerTask(_ producer: Int) async {
            var rng = SeededRandom(seed: seed &+ UInt64(producer))
            for id in (producer * perProducer)..<((producer + 1) * perProducer) {
                sendOne(id, producer: producer)
                if rng.oneIn(64) { await Task.yield() }
            }
        }
        let p0 = Task(executorPreference: loopA.dispatcher) { await producerTask(0) }
        let p1 = Task(executorPreference: loopB.dispatcher) { await producerTask(1) }
        let p2 = Task.detached { await producerTask(2) }
        let p3 = PlainThread(name: "soak-p3") {
            for id in (3 * perProducer)..<(4 * perProducer) { sendOne(id, producer: 3) }
        }

        // Consumers: a task on each loop and one on the global executor, which now and then
        // receive in a child task that is cancelled, and a plain thread in receiveSync. Each
        // stops once it sees the channel closed, so that some elements stay queued.
        let logs = (0..<4).map { _ in ConsumerLog(total: total, producers: producers) }
        @Sendable func consumerTask(_ index: Int, prefer executor: (any TaskExecutor)?) async {
            let log = logs[index]
            var rng = SeededRandom(seed: seed &+ 100 &+ UInt64(index))
            while !channel.isClosed {
                if rng.oneIn(50) {
                    let child = Task(executorPreference: executor) { try await channel.receive() }
                    if rng.oneIn(2) { await Task.yield() }
                    child.cancel()
                    switch await child.result {
                    case .success(let element): log.record(element.value)
                    case .failure(let error as ChannelError) where error == .closed: return
                    case .failure: log.cancelledReceives += 1
                    }
                } else {
                    do { log.record(try await channel.receive().value) } catch { return }
                }
            }
        }
        let c0 = Task(executorPreference: loopA.dispatcher) { await consumerTask(0, prefer: loopA.dispatcher) }
        let c1 = Task(executorPreference: loopB.dispatcher) { await consumerTask(1, prefer: loopB.dispatcher) }
        let c2 = Task.detached { await consumerTask(2, prefer: nil) }
        let c3 = PlainThread(name: "soak-c3") {
            while !channel.isClosed {
                guard let element = try? channel.receiveSync() else { return }
                logs[3].record(element.value)
            }
        }

        await p0.value
        await p1.value
        await p2.value
        await p3.join()
        await c0.value
        await c1.value
        await c2.value
        await c3.join()

        // Whatever the consumers left is still in the channel.
        let drained = Bitmap(count: total)
        let leftInChannel = channel.count
        while let element = channel.tryReceive() { drained.insert(element.value) }
        #expect(drained.count == leftInChannel)
        #expect(channel.count == 0 && channel.isClosed)
        #expect(live.live == 0, "every payload received, handed back or drained was released")

        let (missing, duplicated) = Bitmap.partition(logs.map(\.received) + handedBack + [drained], count: total)
        #expect(missing == 0, "lost elements; \(replayHint(seed))")
        #expect(duplicated == 0, "duplicated elements; \(replayHint(seed))")
        #expect(logs.map(\.orderViolations) == [0, 0, 0, 0], "per-producer FIFO; \(replayHint(seed))")
        #expect(live.created.value == total)
        #expect(live.destroyed.value == total)
        let receivedCount = logs.reduce(0) { $0 + $1.received.count }
        let handedBackCount = handedBack.reduce(0) { $0 + $1.count }
        #expect(receivedCount + handedBackCount + drained.count == total)
        #expect(receivedCount + drained.count >= total / 2, "the first half went through before the close")

        loopA.shutdown()
        loopB.shutdown()
        // The queue's storage shrank back: once drained it owns at most the block the next
        // element would go to and one spare (a steady stream allocates nothing). Counted,
        // not measured as resident memory, which other tests in this process move too.
        #expect(
            channel.storage.queue.ownedSlots <= 64,
            "the drained queue still owns \(channel.storage.queue.ownedSlots) slots")
    }
}

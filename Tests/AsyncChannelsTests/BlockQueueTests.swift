import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@testable import AsyncChannels

/// The lock-free element queue behind ``AsyncChannel`` on its own, and the races between
/// its lock-free paths and the channel's waiter lock.
@Suite struct BlockQueueTests {
    static var slots: Int { QueueBlock<Int>.capacity }

    @Test func singleThreadFIFOAcrossBlockBoundaries() {
        let queue = BlockQueue<Int>()
        var next = 0
        var expected = 0
        // Uneven bursts so pushes and pops cross block ends at every offset.
        for burst in 1...(5 * Self.slots) {
            for _ in 0..<burst {
                #expect(queue.push(next) == nil)
                next += 1
            }
            #expect(queue.count == next - expected)
            for _ in 0..<(burst / 2 + 1) {
                guard case .element(let value) = queue.pop() else { break }
                #expect(value == expected)
                expected += 1
            }
        }
        while case .element(let value) = queue.pop() {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == next)
        #expect(queue.count == 0)
        guard case .empty = queue.pop() else {
            Issue.record("an empty open queue pops .empty")
            return
        }
    }

    /// The batch receive's hint: a queue of n elements looks shorter than n + 1 and not
    /// shorter than n, except that a queue spanning a block boundary may look one longer.
    @Test func looksShorterCountsQueuedElements() {
        let queue = BlockQueue<Int>()
        #expect(queue.looksShorter(than: 1))
        #expect(!queue.looksShorter(than: 0))
        for value in 0..<(3 * Self.slots) {
            #expect(queue.push(value) == nil)
            let queued = value + 1
            #expect(queue.looksShorter(than: queued + 1 + queued / Self.slots))
            #expect(!queue.looksShorter(than: queued))
        }
        while case .element = queue.pop() {}
        #expect(queue.looksShorter(than: 1))
    }

    @Test func closeRejectsPushesAndKeepsQueuedElements() {
        let queue = BlockQueue<Int>()
        for value in 0..<(Self.slots + 3) { #expect(queue.push(value) == nil) }
        #expect(queue.close())
        #expect(!queue.close())
        #expect(queue.isClosed)
        #expect(queue.push(-1) == -1)
        for value in 0..<(Self.slots + 3) {
            guard case .element(let got) = queue.pop() else {
                Issue.record("queued element \(value) lost by close")
                return
            }
            #expect(got == value)
        }
        guard case .closed = queue.pop() else {
            Issue.record("a closed, drained queue pops .closed")
            return
        }
    }

    @Test func blocksAreRecycledInASteadyStream() {
        let queue = BlockQueue<Int>()
        // One block's worth in flight at a time: the head block, the tail block and the spare.
        for round in 0..<1000 {
            for value in 0..<Self.slots { _ = queue.push(round * Self.slots + value) }
            for _ in 0..<Self.slots { _ = queue.pop() }
            #expect(queue.ownedSlots <= 3 * Self.slots)
        }
        // A burst grows the list; draining it gives the blocks back (one kept as spare).
        for value in 0..<(100 * Self.slots) { _ = queue.push(value) }
        #expect(queue.ownedSlots >= 100 * Self.slots)
        while case .element = queue.pop() {}
        #expect(queue.ownedSlots <= 2 * Self.slots)
    }

    @Test func payloadsAreReleasedWhenPoppedAndWhenTheQueueGoes() {
        let counter = LiveCounter()
        do {
            let queue = BlockQueue<Payload>()
            for value in 0..<(3 * Self.slots + 5) { #expect(queue.push(Payload(value, counter: counter)) == nil) }
            for _ in 0..<(2 * Self.slots) { _ = queue.pop() }
            #expect(counter.live == Self.slots + 5)
            _ = queue.close()
            // A rejected push hands back the only reference.
            if let rejected = queue.push(Payload(-1, counter: counter)) { #expect(rejected.value == -1) }
            #expect(counter.live == Self.slots + 5)
        }
        #expect(counter.live == 0)
    }

    @Test(.heavyStress, .stressTimeLimit(quick: 2)) func manyThreadsExactlyOnceAndInOrderPerProducer() async {
        let queue = BlockQueue<Tagged>()
        let producers = 4
        let consumers = 4
        let perProducer = 20_000 * stressFactor
        let received = Collector<Tagged>()
        let taken = Counter()
        let disordered = Counter()
        await onPlainThreads(producers + consumers) { index in
            if index < producers {
                for sequence in 0..<perProducer { _ = queue.push(Tagged(producer: index, sequence: sequence)) }
                return
            }
            var got: [Tagged] = []
            while taken.value < producers * perProducer {
                if case .element(let item) = queue.pop() {
                    got.append(item)
                    taken.add()
                } else {
                    sched_yield()
                }
            }
            if !increasingPerProducer(got) { disordered.add() }
            received.append(contentsOf: got)
        }
        let all = received.all
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == producers * perProducer)
        #expect(disordered.value == 0)
        #expect(queue.count == 0)
    }

    /// A receiver that registers just as a producer sends: thousands of rounds of exactly
    /// that race, each with one element, so a lost wake-up hangs the test.
    @Test(.heavyStress, .stressTimeLimit(quick: 2)) func waitingTaskAndSendingThreadNeverMissEachOther() async throws {
        let loop = try LoopThread(name: "race")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Int>()
        let rounds = 3000 * stressFactor
        let ready = Counter(-1)
        let producer = PlainThread {
            for round in 0..<rounds {
                while ready.value < round { spinLoopHint() }
                // Vary the moment of the send against the receiver's spin and registration.
                for _ in 0..<(round % 97) { spinLoopHint() }
                try? channel.send(round)
            }
        }
        let consumer = Task(executorPreference: loop.dispatcher) { () -> Bool in
            for round in 0..<rounds {
                ready.add()
                guard (try? await channel.receive()) == round else { return false }
            }
            return true
        }
        #expect(await consumer.value)
        await producer.join()
    }

    @Test(.heavyStress, .stressTimeLimit(quick: 2)) func parkedThreadAndSendingThreadNeverMissEachOther() async {
        let channel = AsyncChannel<Int>()
        let rounds = 3000 * stressFactor
        let ready = Counter(-1)
        let mismatches = Counter()
        await onPlainThreads(2) { index in
            if index == 0 {
                for round in 0..<rounds {
                    while ready.value < round { spinLoopHint() }
                    for _ in 0..<(round % 97) { spinLoopHint() }
                    try? channel.send(round)
                }
            } else {
                for round in 0..<rounds {
                    ready.add()
                    if (try? channel.receiveSync()) != round { mismatches.add() }
                }
            }
        }
        #expect(mismatches.value == 0)
    }

    /// Sends racing with close: each element is either received (before or after the close)
    /// or handed back to its sender, exactly once, and every payload is released.
    @Test(.heavyStress, .stressTimeLimit(quick: 2)) func closeRacingWithSendsLosesAndDuplicatesNothing() async throws {
        let loop = try LoopThread(name: "close-race")
        defer { loop.shutdown() }
        let counter = LiveCounter()
        for round in 0..<(60 * stressFactor) {
            let channel = AsyncChannel<Payload>()
            let producers = 3
            let perProducer = 1000
            let consumer = Task(executorPreference: loop.dispatcher) { () -> [Int] in
                var got: [Int] = []
                for await payload in channel { got.append(payload.value) }
                return got
            }
            let handedBack = Collector<Int>()
            let closeAt = (round * 37) % (producers * perProducer)
            let sent = Counter()
            await onPlainThreads(producers + 1) { index in
                if index == producers {
                    while sent.value < closeAt { spinLoopHint() }
                    channel.close()
                    return
                }
                var back: [Int] = []
                for sequence in 0..<perProducer {
                    do throws(ChannelSendError<Payload>) {
                        try channel.send(Payload(index * perProducer + sequence, counter: counter))
                    } catch {
                        back.append(error.element.value)
                    }
                    sent.add()
                }
                handedBack.append(contentsOf: back)
            }
            let received = await consumer.value
            let all = received + handedBack.all
            #expect(all.count == producers * perProducer, "round \(round)")
            #expect(Set(all).count == producers * perProducer, "round \(round)")
            #expect(channel.count == 0)
        }
        #expect(counter.live == 0)
    }
}

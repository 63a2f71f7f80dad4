import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

@Suite struct AsyncChannelTests {
    @Test func sendTryReceiveCountAndFIFO() throws {
        let channel = AsyncChannel<Int>()
        #expect(channel.count == 0)
        #expect(channel.tryReceive() == nil)
        for value in 0..<100 { try channel.send(value) }
        #expect(channel.count == 100)
        for value in 0..<100 { #expect(channel.tryReceive() == value) }
        #expect(channel.tryReceive() == nil)
        #expect(!channel.isClosed)
    }

    @Test(.stressTimeLimit) func receiveReturnsQueuedElementsInOrder() async throws {
        let channel = AsyncChannel<String>()
        try channel.send("a")
        try channel.send("b")
        #expect(try await channel.receive() == "a")
        #expect(try await channel.receive() == "b")
    }

    @Test(.stressTimeLimit) func receiveWithAnElementReadyDoesNotSuspend() async throws {
        let loop = try LoopThread(name: "no-suspend")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Int>()
        for value in 0..<1000 { try channel.send(value) }
        let dispatcher = loop.dispatcher
        let (sum, jobs) = try await Task(executorPreference: dispatcher) { () throws -> (Int, Int) in
            let before = dispatcher.counters.jobsRun
            var sum = 0
            for _ in 0..<1000 { sum += try await channel.receive() }
            // Any suspension would have cost the loop a job per element.
            return (sum, dispatcher.counters.jobsRun - before)
        }.value
        #expect(sum == 999 * 1000 / 2)
        #expect(jobs < 10)
    }

    @Test(.stressTimeLimit) func waitingReceiverOnALoopIsResumedOnThatLoop() async throws {
        let loop = try LoopThread(name: "resume-here")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Int>()
        let dispatcher = loop.dispatcher
        let receiver = Task(executorPreference: dispatcher) { () throws -> (Int, Bool) in
            let value = try await channel.receive()
            return (value, dispatcher.inLoop)
        }
        await waitUntil { channel.waitingReceivers == 1 }
        let sender = PlainThread { try? channel.send(7) }
        let (value, onLoop) = try await receiver.value
        await sender.join()
        #expect(value == 7)
        #expect(onLoop)
    }

    @Test(.stressTimeLimit) func oneElementWakesOneWaiter() async throws {
        let channel = AsyncChannel<Int>()
        let receivers = (0..<3).map { _ in Task { try await channel.receive() } }
        await waitUntil { channel.waitingReceivers == 3 }
        try channel.send(1)
        await waitUntil { channel.waitingReceivers == 2 }
        #expect(channel.count == 0)
        try channel.send(2)
        try channel.send(3)
        var got: [Int] = []
        for receiver in receivers { got.append(try await receiver.value) }
        #expect(got.sorted() == [1, 2, 3])
    }

    @Test(.stressTimeLimit) func closeKeepsQueuedElementsReceivable() async throws {
        let channel = AsyncChannel<Int>()
        try channel.send(1)
        try channel.send(2)
        channel.close()
        #expect(channel.isClosed)
        #expect(channel.count == 2)
        #expect(try await channel.receive() == 1)
        #expect(channel.tryReceive() == 2)
        await #expect(throws: ChannelError.closed) { try await channel.receive() }
        #expect(throws: ChannelError.closed) { try channel.receiveSync() }
        #expect(channel.tryReceive() == nil)
    }

    @Test func sendAfterCloseHandsTheElementBackAndCloseIsIdempotent() {
        let channel = AsyncChannel<[Int]>()
        channel.close()
        channel.close()
        do {
            try channel.send([1, 2, 3])
            Issue.record("send on a closed channel succeeded")
        } catch {
            #expect(error.element == [1, 2, 3])
            #expect(error.reason == .closed)
        }
        #expect(channel.count == 0)
    }

    @Test(.stressTimeLimit) func closeWakesEveryWaitingTaskAndThread() async throws {
        let loop = try LoopThread(name: "close-wakes")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Int>()
        let onLoop = Task(executorPreference: loop.dispatcher) { try await channel.receive() }
        let global = Task { try await channel.receive() }
        let threadOutcome = Collector<String>()
        let thread = PlainThread {
            do throws(ChannelError) {
                _ = try channel.receiveSync()
                threadOutcome.append("element")
            } catch {
                threadOutcome.append(error == .closed ? "closed" : "other")
            }
        }
        await waitUntil { channel.waitingReceivers == 3 }
        channel.close()
        await #expect(throws: ChannelError.closed) { try await onLoop.value }
        await #expect(throws: ChannelError.closed) { try await global.value }
        await thread.join()
        #expect(threadOutcome.all == ["closed"])
    }

    @Test(.stressTimeLimit) func receiveSyncBlocksUntilAnElementArrives() async throws {
        let channel = AsyncChannel<Int>()
        let got = Collector<Int>()
        let thread = PlainThread {
            while let value = try? channel.receiveSync() { got.append(value) }
        }
        await waitUntil { channel.waitingReceivers == 1 }
        for value in 0..<100 { try channel.send(value) }
        channel.close()
        await thread.join()
        #expect(got.all == Array(0..<100))
    }

    @Test(.stressTimeLimit) func forAwaitEndsWhenClosedAndDrained() async throws {
        let channel = AsyncChannel<Int>()
        let consumer = Task {
            var got: [Int] = []
            for await value in channel { got.append(value) }
            return got
        }
        for value in 0..<50 { try channel.send(value) }
        channel.close()
        #expect(await consumer.value == Array(0..<50))
        // A new iterator on a drained, closed channel ends at once.
        var iterator = channel.makeAsyncIterator()
        #expect(await iterator.next() == nil)
    }

    @Test(.stressTimeLimit) func manyIteratorsShareTheElements() async throws {
        let channel = AsyncChannel<Int>()
        let consumers = (0..<4).map { _ in
            Task {
                var got: [Int] = []
                for await value in channel { got.append(value) }
                return got
            }
        }
        let n = 2000
        for value in 0..<n { try channel.send(value) }
        channel.close()
        var all: [Int] = []
        for consumer in consumers {
            let got = await consumer.value
            #expect(got == got.sorted(), "one consumer sees one producer's elements in order")
            all += got
        }
        #expect(all.sorted() == Array(0..<n))
    }

    @Test(.stressTimeLimit) func cancelledIterationEndsWithoutTakingAnElement() async throws {
        let channel = AsyncChannel<Int>()
        let consumer = Task {
            var count = 0
            for await _ in channel { count += 1 }
            return count
        }
        await waitUntil { channel.waitingReceivers == 1 }
        consumer.cancel()
        #expect(await consumer.value == 0)
        try channel.send(1)
        #expect(channel.tryReceive() == 1)
    }

    @Test(.stressTimeLimit) func largePayloadsArriveIntact() async throws {
        struct Big: Sendable, Equatable {
            var words: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
            static func == (a: Big, b: Big) -> Bool { a.words.0 == b.words.0 && a.words.15 == b.words.15 }
        }
        let arrays = AsyncChannel<[UInt8]>()
        let bigs = AsyncChannel<Big>()
        let producer = PlainThread {
            for index in 0..<64 {
                try? arrays.send([UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 256 * 1024))
                let word = index * 1000
                try? bigs.send(Big(words: (word, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, word + 15)))
            }
            arrays.close()
            bigs.close()
        }
        var index = 0
        for await array in arrays {
            #expect(array.count == 256 * 1024)
            #expect(array.allSatisfy { $0 == UInt8(truncatingIfNeeded: index) })
            index += 1
        }
        #expect(index == 64)
        index = 0
        for await big in bigs {
            #expect(big.words.0 == index * 1000 && big.words.15 == index * 1000 + 15 && big.words.7 == 7)
            index += 1
        }
        #expect(index == 64)
        await producer.join()
    }

    @Test(.stressTimeLimit) func elementsAreReleasedWhenReceivedAndNothingLeaks() async throws {
        let counter = LiveCounter()
        do {
            let channel = AsyncChannel<Payload>()
            for value in 0..<1000 { try channel.send(Payload(value, counter: counter)) }
            #expect(counter.live == 1000)
            for value in 0..<500 {
                let payload = try await channel.receive()
                #expect(payload.value == value)
            }
            // The channel keeps no reference to what it handed out.
            #expect(counter.live == 500)
            for _ in 0..<250 { _ = channel.tryReceive() }
            #expect(counter.live == 250)
            // Hand-off to a waiting receiver keeps no reference either.
            let drained = AsyncChannel<Payload>()
            let receiver = Task { try await drained.receive().value }
            await waitUntil { drained.waitingReceivers == 1 }
            try drained.send(Payload(-1, counter: counter))
            #expect(try await receiver.value == -1)
            #expect(counter.live == 250)
            // A send on a closed channel hands back the only reference.
            drained.close()
            do { try drained.send(Payload(-2, counter: counter)) } catch { #expect(error.element.value == -2) }
            #expect(counter.live == 250)
            channel.close()
        }
        // Dropping a channel releases what it still held.
        #expect(counter.live == 0)
    }

    @Test(.stressTimeLimit) func steadyStreamReusesQueueStorage() throws {
        let channel = AsyncChannel<Int>()
        for round in 0..<1000 {
            for value in 0..<64 { try channel.send(round * 64 + value) }
            for _ in 0..<64 { _ = channel.tryReceive() }
        }
        // The queue ends with two 32-slot blocks, the linked one and its spare: a steady
        // stream reuses its blocks instead of allocating new ones.
        #expect(channel.storage.queue.ownedSlots == 64)
    }
}

import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

@Suite struct BoundedAsyncChannelTests {
    @Test func negativeCapacityIsRejectedAndZeroIsARendezvous() throws {
        #expect(throws: ChannelError.invalidCapacity) { try BoundedAsyncChannel<Int>(capacity: -1) }
        #expect(throws: ChannelError.invalidCapacity) { try BoundedAsyncChannel<Int>(capacity: -5) }
        #expect(try BoundedAsyncChannel<Int>(capacity: 0).capacity == 0)
        #expect(try BoundedAsyncChannel<Int>(capacity: 1).capacity == 1)
    }

    @Test func trySendFailsWhenFullAndHandsTheElementBack() throws {
        let channel = try BoundedAsyncChannel<String>(capacity: 2)
        try channel.trySend("a")
        try channel.trySend("b")
        do {
            try channel.trySend("c")
            Issue.record("trySend succeeded on a full channel")
        } catch {
            #expect(error.reason == .full)
            #expect(error.element == "c")
        }
        #expect(channel.tryReceive() == "a")
        try channel.trySend("c")
        #expect(channel.count == 2)
        channel.close()
        #expect(throws: ChannelSendError<String>.self) { try channel.trySend("d") }
        #expect(channel.tryReceive() == "b")
        #expect(channel.tryReceive() == "c")
    }

    @Test(.stressTimeLimit) func sendSuspendsWhileFull() async throws {
        let loop = try LoopThread(name: "bounded")
        defer { loop.shutdown() }
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        try await channel.send(1)
        let sender = Task(executorPreference: loop.dispatcher) { try await channel.send(2) }
        await waitUntil { channel.waitingSenders == 1 }
        #expect(channel.count == 1)
        #expect(try await channel.receive() == 1)
        try await sender.value
        #expect(channel.count == 1)
        #expect(try await channel.receive() == 2)
    }

    @Test(.stressTimeLimit) func sendSyncBlocksAPlainThreadWhileFull() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 4)
        let n = 1000
        let producer = PlainThread {
            for value in 0..<n { try? channel.sendSync(value) }
            channel.close()
        }
        // The producer fills the channel and then blocks.
        await waitUntil { channel.waitingSenders == 1 }
        #expect(channel.count == 4)
        var got: [Int] = []
        for await value in channel {
            #expect(channel.count <= 4)
            got.append(value)
        }
        await producer.join()
        #expect(got == Array(0..<n))
    }

    @Test(.stressTimeLimit) func receiveSyncAndSendSyncBetweenPlainThreads() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        let got = Collector<Int>()
        let consumer = PlainThread {
            while let value = try? channel.receiveSync() { got.append(value) }
        }
        await onPlainThreads(1) { _ in
            for value in 0..<2000 { try? channel.sendSync(value) }
        }
        channel.close()
        await consumer.join()
        #expect(got.all == Array(0..<2000))
    }

    @Test(.stressTimeLimit) func closeFailsWaitingSendersWithTheirElements() async throws {
        let counter = LiveCounter()
        do {
            let channel = try BoundedAsyncChannel<Payload>(capacity: 1)
            try channel.trySend(Payload(0, counter: counter))
            let taskSender = Task { () -> Int? in
                do throws(ChannelSendError<Payload>) {
                    try await channel.send(Payload(1, counter: counter))
                    return nil
                } catch {
                    #expect(error.reason == .closed)
                    return error.element.value
                }
            }
            let threadResult = Collector<Int>()
            let threadSender = PlainThread {
                do throws(ChannelSendError<Payload>) {
                    try channel.sendSync(Payload(2, counter: counter))
                } catch {
                    threadResult.append(error.reason == .closed ? error.element.value : -1)
                }
            }
            await waitUntil { channel.waitingSenders == 2 }
            channel.close()
            #expect(await taskSender.value == 1)
            await threadSender.join()
            #expect(threadResult.all == [2])
            // The element queued before close is still received.
            #expect(try await channel.receive().value == 0)
            await #expect(throws: ChannelError.closed) { try await channel.receive() }
        }
        #expect(counter.live == 0)
    }

    @Test(.stressTimeLimit) func cancelledSendHandsTheElementBackAndLeavesNothing() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        try channel.trySend(0)
        let sender = Task { () -> ChannelSendError<Int>? in
            do throws(ChannelSendError<Int>) {
                try await channel.send(1)
                return nil
            } catch {
                return error
            }
        }
        await waitUntil { channel.waitingSenders == 1 }
        sender.cancel()
        let error = await sender.value
        #expect(error?.reason == .cancelled)
        #expect(error?.element == 1)
        #expect(channel.waitingSenders == 0)
        #expect(channel.tryReceive() == 0)
        #expect(channel.tryReceive() == nil)
    }

    /// A send racing its cancellation and a receive: the element is either in the channel
    /// (or received) or handed back, exactly once.
    @Test(.heavyStress, .stressTimeLimit) func cancelledSendRacesNeverLoseOrDuplicate() async throws {
        let loop = try LoopThread(name: "send-race")
        defer { loop.shutdown() }
        for iteration in 0..<(1000 * stressFactor) {
            let channel = try BoundedAsyncChannel<Int>(capacity: 1)
            try channel.trySend(-1)
            let sender = Task(executorPreference: loop.dispatcher) { () -> Int? in
                do throws(ChannelSendError<Int>) {
                    try await channel.send(iteration)
                    return nil
                } catch {
                    return error.element
                }
            }
            if iteration % 2 == 0 { await waitUntil { channel.waitingSenders == 1 } }
            async let first = channel.receive()
            sender.cancel()
            #expect(try await first == -1)
            let handedBack = await sender.value
            let inChannel = channel.tryReceive()
            #expect((handedBack == iteration) != (inChannel == iteration), "lost or duplicated")
        }
    }

    @Test(.stressTimeLimit) func boundedStressKeepsOrderAndCount() async throws {
        let loops = try (0..<2).map { try LoopThread(name: "bstress-\($0)") }
        defer { for loop in loops { loop.shutdown() } }
        let channel = try BoundedAsyncChannel<Tagged>(capacity: 8)
        let perProducer = 5000 * stressFactor
        let received = Collector<Tagged>()
        let disordered = Counter()
        let consumers = loops.map { loop in
            Task(executorPreference: loop.dispatcher) {
                var got: [Tagged] = []
                for await item in channel { got.append(item) }
                if !increasingPerProducer(got) { disordered.add(1) }
                received.append(contentsOf: got)
            }
        }
        let threadConsumer = PlainThread {
            var got: [Tagged] = []
            while let item = try? channel.receiveSync() { got.append(item) }
            if !increasingPerProducer(got) { disordered.add(1) }
            received.append(contentsOf: got)
        }
        let taskProducers = loops.enumerated().map { index, loop in
            Task(executorPreference: loop.dispatcher) {
                for sequence in 0..<perProducer {
                    try? await channel.send(Tagged(producer: 10 + index, sequence: sequence))
                }
            }
        }
        await onPlainThreads(2) { producer in
            for sequence in 0..<perProducer { try? channel.sendSync(Tagged(producer: producer, sequence: sequence)) }
        }
        for producer in taskProducers { await producer.value }
        channel.close()
        for consumer in consumers { await consumer.value }
        await threadConsumer.join()
        let all = received.all
        #expect(all.count == 4 * perProducer)
        #expect(Set(all).count == all.count)
        #expect(disordered.value == 0)
    }
}

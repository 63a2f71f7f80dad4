import EventLoop
import LoopTestSupport
import Synchronization
import Testing

@testable import AsyncChannels

@Suite struct AsyncChannelConcurrencyTests {
    @Test(.timeLimit(.minutes(1))) func orderPerProducerFromPlainThreadsToALoopTask() async throws {
        let loop = try LoopThread(name: "order")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Tagged>()
        let producers = 4
        let perProducer = 5000 * stressFactor
        let consumer = Task(executorPreference: loop.dispatcher) {
            var got: [Tagged] = []
            got.reserveCapacity(producers * perProducer)
            for await item in channel { got.append(item) }
            return got
        }
        await onPlainThreads(producers) { producer in
            for sequence in 0..<perProducer { try? channel.send(Tagged(producer: producer, sequence: sequence)) }
        }
        channel.close()
        let got = await consumer.value
        #expect(got.count == producers * perProducer)
        #expect(increasingPerProducer(got))
    }

    /// Consumers of every kind at once: tasks on two loops, a task on the global executor
    /// and a plain thread in recvSync; producers are plain threads and a loop task.
    @Test(.timeLimit(.minutes(1))) func mpmcDeliversEachElementExactlyOnce() async throws {
        let loopA = try LoopThread(name: "mpmc-a")
        let loopB = try LoopThread(name: "mpmc-b")
        defer {
            loopA.shutdown()
            loopB.shutdown()
        }
        let channel = AsyncChannel<Tagged>()
        let perProducer = 10_000 * stressFactor
        let received = Collector<Tagged>()
        let disordered = Counter()

        let consume: @Sendable () async -> Void = {
            var got: [Tagged] = []
            for await item in channel { got.append(item) }
            if !increasingPerProducer(got) { disordered.add(1) }
            received.append(contentsOf: got)
        }
        let consumers = [
            Task(executorPreference: loopA.dispatcher) { await consume() },
            Task(executorPreference: loopB.dispatcher) { await consume() },
            Task { await consume() },
        ]
        let threadConsumer = PlainThread {
            var got: [Tagged] = []
            while let item = try? channel.recvSync() { got.append(item) }
            if !increasingPerProducer(got) { disordered.add(1) }
            received.append(contentsOf: got)
        }
        let loopProducer = Task(executorPreference: loopA.dispatcher) {
            for sequence in 0..<perProducer {
                try? channel.send(Tagged(producer: 99, sequence: sequence))
                if sequence % 64 == 0 { await Task.yield() }
            }
        }
        await onPlainThreads(3) { producer in
            for sequence in 0..<perProducer { try? channel.send(Tagged(producer: producer, sequence: sequence)) }
        }
        await loopProducer.value
        channel.close()
        for consumer in consumers { await consumer.value }
        await threadConsumer.join()

        let all = received.all
        #expect(all.count == 4 * perProducer)
        #expect(Set(all).count == all.count, "an element was received twice")
        #expect(disordered.value == 0)
    }

    /// A receive racing its own cancellation and a send: it returns the element or throws
    /// CancellationError with the element left in the channel. Never lost, never doubled.
    @Test(.timeLimit(.minutes(1))) func cancelledReceiveNeverLosesAnElement() async throws {
        let loop = try LoopThread(name: "cancel-race")
        defer { loop.shutdown() }
        let iterations = 2000 * stressFactor
        var returned = 0
        var leftInChannel = 0
        for iteration in 0..<iterations {
            let channel = AsyncChannel<Int>()
            let receiver: Task<Int, any Error> =
                iteration % 2 == 0
                ? Task(executorPreference: loop.dispatcher) { try await channel.recv() }
                : Task { try await channel.recv() }
            // Vary which event tends to come first.
            switch iteration % 3 {
            case 0:
                try channel.send(iteration)
                receiver.cancel()
            case 1:
                receiver.cancel()
                try channel.send(iteration)
            default:
                await waitUntil { channel.waitingReceivers == 1 }
                async let sent: Void = channel.send(iteration)
                receiver.cancel()
                try await sent
            }
            switch await receiver.result {
            case .success(let value):
                #expect(value == iteration)
                #expect(channel.count == 0)
                returned += 1
            case .failure(let error):
                #expect(error is CancellationError)
                #expect(channel.tryRecv() == iteration, "a cancelled receive swallowed the element")
                leftInChannel += 1
            }
        }
        #expect(returned + leftInChannel == iterations)
    }

    /// Many receivers, some cancelled at random moments, while producers send: everything
    /// received plus everything left equals everything sent.
    @Test(.timeLimit(.minutes(1))) func cancellationStormKeepsTheCount() async throws {
        let loop = try LoopThread(name: "storm")
        defer { loop.shutdown() }
        let rounds = 200 * stressFactor
        for round in 0..<rounds {
            let channel = AsyncChannel<Int>()
            let receivers = (0..<8).map { index in
                index % 2 == 0
                    ? Task(executorPreference: loop.dispatcher) { () -> [Int] in
                        var got: [Int] = []
                        while let value = try? await channel.recv() { got.append(value) }
                        return got
                    }
                    : Task { () -> [Int] in
                        var got: [Int] = []
                        while let value = try? await channel.recv() { got.append(value) }
                        return got
                    }
            }
            let sent = 32
            let producer = PlainThread {
                for value in 0..<sent { try? channel.send(value) }
            }
            for (index, receiver) in receivers.enumerated() where (index + round) % 3 != 0 {
                receiver.cancel()
            }
            await producer.join()
            channel.close()
            var all: [Int] = []
            for receiver in receivers { all += await receiver.value }
            while let value = channel.tryRecv() { all.append(value) }
            #expect(all.sorted() == Array(0..<sent))
        }
    }

    @Test(.timeLimit(.minutes(1))) func stressManyProducersManyConsumersWithPayloads() async throws {
        let loops = try (0..<2).map { try LoopThread(name: "stress-\($0)") }
        defer { for loop in loops { loop.shutdown() } }
        let counter = LiveCounter()
        let perProducer = 20_000 * stressFactor
        let producers = 4
        let total = Counter()
        let count = Counter()
        do {
            let channel = AsyncChannel<Payload>()
            let consumers = loops.map { loop in
                Task(executorPreference: loop.dispatcher) {
                    for await payload in channel {
                        total.add(payload.value)
                        count.add(1)
                    }
                }
            }
            let threads = (0..<2).map { _ in
                PlainThread {
                    while let payload = try? channel.recvSync() {
                        total.add(payload.value)
                        count.add(1)
                    }
                }
            }
            await onPlainThreads(producers) { _ in
                for value in 1...perProducer { try? channel.send(Payload(value, counter: counter)) }
            }
            channel.close()
            for consumer in consumers { await consumer.value }
            for thread in threads { await thread.join() }
        }
        #expect(count.value == producers * perProducer)
        #expect(total.value == producers * perProducer * (perProducer + 1) / 2)
        #expect(counter.live == 0)
    }
}

import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@testable import AsyncChannels

@Suite struct AsyncChannelConcurrencyTests {
    @Test(.stressTimeLimit) func orderPerProducerFromPlainThreadsToALoopTask() async throws {
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
    /// and a plain thread in receiveSync; producers are plain threads and a loop task.
    @Test(.heavyStress, .stressTimeLimit) func mpmcDeliversEachElementExactlyOnce() async throws {
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
            while let item = try? channel.receiveSync() { got.append(item) }
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
    @Test(.heavyStress, .stressTimeLimit) func cancelledReceiveNeverLosesAnElement() async throws {
        let loop = try LoopThread(name: "cancel-race")
        defer { loop.shutdown() }
        let iterations = 2000 * stressFactor
        var returned = 0
        var leftInChannel = 0
        for iteration in 0..<iterations {
            let channel = AsyncChannel<Int>()
            let receiver: Task<Int, any Error> =
                iteration % 2 == 0
                ? Task(executorPreference: loop.dispatcher) { try await channel.receive() }
                : Task { try await channel.receive() }
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
                #expect(channel.tryReceive() == iteration, "a cancelled receive swallowed the element")
                leftInChannel += 1
            }
        }
        #expect(returned + leftInChannel == iterations)
    }

    /// A receive on an empty channel whose task is cancelled just as it registers: thousands
    /// of rounds, in tasks on a loop and on the global executor. A plain thread holds the
    /// channel's lock (as the `waitingReceivers` probe does) from before the receive starts
    /// until a varying moment after it has drawn its id, so the receive is caught between
    /// the start of its wait and its registration; a second plain thread cancels it as soon
    /// as the lock is free, racing the receive for it. No element is ever sent, so each
    /// round must end in `CancellationError`: a missed cancellation leaves the receive
    /// waiting for good, and the time limit fails the test.
    @Test(.heavyStress, .stressTimeLimit(quick: 2)) func cancellationRacingTheRegistrationIsNeverMissed() async throws {
        let loop = try LoopThread(name: "cancel-register")
        defer { loop.shutdown() }
        let rounds = 2000 * stressFactor
        // Each round's channel goes to the lock holder, its receiving task to the canceller.
        let channels = LockedValue<AsyncChannel<Int>?>(nil)
        let receivers = LockedValue<Task<Int, any Error>?>(nil)
        let locked = Counter()
        let released = Counter()
        let lockHolder = PlainThread {
            for round in 0..<rounds {
                var channel: AsyncChannel<Int>? = nil
                while channel == nil {
                    channel = channels.withLock { $0.take() }
                    if channel == nil { sched_yield() }
                }
                let storage = channel!.storage
                storage.state.withLock { _ in
                    locked.add()
                    // The receive has found the channel empty and started to wait.
                    while storage.lastID.load(ordering: .relaxed) == 0 { sched_yield() }
                    for _ in 0..<((round % 16) * 32) { spinLoopHint() }
                }
                released.add()
            }
        }
        let canceller = PlainThread {
            for round in 0..<rounds {
                while released.value <= round { sched_yield() }
                var receiver: Task<Int, any Error>? = nil
                while receiver == nil {
                    receiver = receivers.withLock { $0.take() }
                    if receiver == nil { sched_yield() }
                }
                for _ in 0..<(round % 5) { spinLoopHint() }
                receiver!.cancel()
            }
        }
        var cancelled = 0
        for round in 0..<rounds {
            let channel = AsyncChannel<Int>()
            channels.withLock { $0 = channel }
            await waitUntil { locked.value > round }
            let receiver: Task<Int, any Error> =
                round % 3 == 0
                ? Task { try await channel.receive() }
                : Task(executorPreference: loop.dispatcher) { try await channel.receive() }
            receivers.withLock { $0 = receiver }
            if case .failure(let error) = await receiver.result, error is CancellationError { cancelled += 1 }
            #expect(channel.waitingReceivers == 0)
        }
        await lockHolder.join()
        await canceller.join()
        #expect(cancelled == rounds)
    }

    /// Many receivers, some cancelled at random moments, while producers send: everything
    /// received plus everything left equals everything sent.
    @Test(.heavyStress, .stressTimeLimit) func cancellationStormKeepsTheCount() async throws {
        let loop = try LoopThread(name: "storm")
        defer { loop.shutdown() }
        let rounds = 200 * stressFactor
        for round in 0..<rounds {
            let channel = AsyncChannel<Int>()
            let receivers = (0..<8).map { index in
                index % 2 == 0
                    ? Task(executorPreference: loop.dispatcher) { () -> [Int] in
                        var got: [Int] = []
                        while let value = try? await channel.receive() { got.append(value) }
                        return got
                    }
                    : Task { () -> [Int] in
                        var got: [Int] = []
                        while let value = try? await channel.receive() { got.append(value) }
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
            while let value = channel.tryReceive() { all.append(value) }
            #expect(all.sorted() == Array(0..<sent))
        }
    }

    @Test(.heavyStress, .stressTimeLimit) func stressManyProducersManyConsumersWithPayloads() async throws {
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
                    while let payload = try? channel.receiveSync() {
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

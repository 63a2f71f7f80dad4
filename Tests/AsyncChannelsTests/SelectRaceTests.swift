import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

/// Selects racing sends, closes, timeouts, cancellations and each other, with every element
/// accounted for exactly once: received by one select, still queued, or handed back to its
/// producer by a send that failed.
@Suite("Select races", .heavyStress, .stressTimeLimit)
struct SelectRaceTests {
    /// Go's TestSelectStress and the randomized accounting test: producers (plain threads and
    /// tasks) send to three channels (unbounded, bounded, rendezvous), consumers (tasks on a
    /// loop and on the global executor, a plain thread) select over all three with short
    /// timeouts, some selects are cancelled at random, and the channels close mid-run.
    @Test(arguments: reliabilitySeeds(2))
    func everyElementIsReceivedQueuedOrHandedBackOnce(seed: UInt64) async throws {
        let perProducer = 300 * stressFactor
        let producerThreads = 2
        let producerTasks = 2
        let producers = producerThreads + producerTasks
        let total = perProducer * producers

        let unbounded = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 2)
        let rendezvous = try BoundedAsyncChannel<Int>(capacity: 0)
        let received = Collector<Int>()
        let handedBack = Collector<Int>()
        let attempts = Counter()
        let cancelledSelects = Counter()
        // Producers stop halfway until the channels are closed, so that the close falls in
        // the middle of the run whatever the machine's speed.
        let closed = Counter()
        let loop = try LoopThread(name: "select-race")
        defer { loop.shutdown() }

        /// One send by a task: a select over the chosen channel's send and a short timeout,
        /// retried after a timeout; true when sent, false when handed back (closed).
        @Sendable func sendFromTask(_ id: Int, _ target: UInt64) async throws -> Bool {
            while true {
                let outcome: Bool? =
                    switch target {
                    case 0: (try? unbounded.send(id)) != nil
                    case 1:
                        try await select(bounded.onSend(id) { Optional($0) }, SelectTimeout(.microseconds(200)) { nil })
                    default:
                        try await select(
                            rendezvous.onSend(id) { Optional($0) }, SelectTimeout(.microseconds(200)) { nil })
                    }
                if let outcome { return outcome }
            }
        }

        /// One send by a plain thread, blocking with a short timeout and retrying.
        @Sendable func sendFromThread(_ id: Int, _ target: UInt64) -> Bool {
            while true {
                do {
                    switch target {
                    case 0: try unbounded.send(id)
                    case 1: try bounded.sendSync(id, timeout: .microseconds(200))
                    default: try rendezvous.sendSync(id, timeout: .microseconds(200))
                    }
                    return true
                } catch  where error.reason == .timedOut {
                    continue
                } catch {
                    return false
                }
            }
        }

        /// What a consumer's select returns: an element, a closed channel, or a timeout.
        enum Got: Sendable {
            case element(Int)
            case closed(Int)
            case idle
        }

        @Sendable func record(_ got: Got, _ closedSeen: inout Set<Int>) {
            switch got {
            case .element(let id): received.append(id)
            case .closed(let channel): closedSeen.insert(channel)
            case .idle: break
            }
        }

        /// A task consumer: selects until it has seen all three channels closed and drained;
        /// every fourth select runs in a child task that is cancelled at once.
        @Sendable func consumeInTasks(_ random: inout SeededRandom, on executor: (any TaskExecutor)?) async throws {
            var closedSeen = Set<Int>()
            while closedSeen.count < 3 {
                let child = Task(executorPreference: executor) {
                    try await select(
                        unbounded.onReceive { $0.map(Got.element) ?? .closed(0) },
                        bounded.onReceive { $0.map(Got.element) ?? .closed(1) },
                        rendezvous.onReceive { $0.map(Got.element) ?? .closed(2) },
                        SelectTimeout(.microseconds(300)) { Got.idle }
                    )
                }
                if random.oneIn(4) {
                    for _ in 0..<random.next() % 3 { await Task.yield() }
                    child.cancel()
                }
                switch await child.result {
                case .success(let got): record(got, &closedSeen)
                case .failure(let error):
                    try #require(error is CancellationError, "\(error)")
                    cancelledSelects.add()
                }
            }
        }

        var seeds = SeededRandom(seed: seed)
        let threadSeeds = (0..<producerThreads + 1).map { _ in seeds.next() }
        let taskSeeds = (0..<producerTasks + 3).map { _ in seeds.next() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Producers on plain threads.
            var threads: [PlainThread] = []
            for producer in 0..<producerThreads {
                let threadSeed = threadSeeds[producer]
                threads.append(
                    PlainThread {
                        var random = SeededRandom(seed: threadSeed)
                        for sequence in 0..<perProducer {
                            let id = producer * perProducer + sequence
                            if sequence == perProducer / 2 { spinUntil("the close") { closed.value == 1 } }
                            attempts.add()
                            if !sendFromThread(id, random.next() % 3) { handedBack.append(id) }
                        }
                    }
                )
            }
            // Producers in tasks, on the loop.
            for index in 0..<producerTasks {
                let producer = producerThreads + index
                let taskSeed = taskSeeds[index]
                group.addTask(executorPreference: loop.dispatcher) {
                    var random = SeededRandom(seed: taskSeed)
                    for sequence in 0..<perProducer {
                        let id = producer * perProducer + sequence
                        if sequence == perProducer / 2 { await waitUntil("the close") { closed.value == 1 } }
                        attempts.add()
                        if try await !sendFromTask(id, random.next() % 3) { handedBack.append(id) }
                    }
                }
            }
            // Consumers: two tasks on the loop, one on the global executor.
            for index in 0..<3 {
                let taskSeed = taskSeeds[producerTasks + index]
                let executor: (any TaskExecutor)? = index < 2 ? loop.dispatcher : nil
                group.addTask(executorPreference: executor) {
                    var random = SeededRandom(seed: taskSeed)
                    try await consumeInTasks(&random, on: executor)
                }
            }
            // A consumer on a plain thread.
            let consumerThread = PlainThread {
                var closedSeen = Set<Int>()
                while closedSeen.count < 3 {
                    let got = try! selectSync(
                        unbounded.onReceive { $0.map(Got.element) ?? .closed(0) },
                        bounded.onReceive { $0.map(Got.element) ?? .closed(1) },
                        rendezvous.onReceive { $0.map(Got.element) ?? .closed(2) },
                        SelectTimeout(.microseconds(300)) { Got.idle }
                    )
                    record(got, &closedSeen)
                }
            }
            // Mid-run, the channels close, in an order the seed chooses.
            let closeOrder = [0, 1, 2].shuffled(using: &seeds)
            group.addTask {
                await waitUntil("half the sends to start") { attempts.value >= producers * (perProducer / 2) }
                for channel in closeOrder {
                    switch channel {
                    case 0: unbounded.close()
                    case 1: bounded.close()
                    default: rendezvous.close()
                    }
                }
                closed.store(1)
            }
            try await group.waitForAll()
            for thread in threads { await thread.join() }
            await consumerThread.join()
        }

        var remaining: [Int] = []
        while let id = unbounded.tryReceive() { remaining.append(id) }
        while let id = bounded.tryReceive() { remaining.append(id) }
        #expect(rendezvous.tryReceive() == nil, "a rendezvous queues nothing")

        var seen = [Int](repeating: 0, count: total)
        for id in received.all + remaining + handedBack.all { seen[id] += 1 }
        let missing = seen.indices.filter { seen[$0] == 0 }
        let duplicated = seen.indices.filter { seen[$0] > 1 }
        #expect(missing.isEmpty, "\(missing.count) elements lost, e.g. \(missing.prefix(5)); \(replayHint(seed))")
        #expect(
            duplicated.isEmpty, "\(duplicated.count) elements twice, e.g. \(duplicated.prefix(5)); \(replayHint(seed))")
        #expect(remaining.isEmpty, "consumers ran until every channel was closed and drained")
        // The run exercised what it is about: deliveries and failed sends after the close.
        #expect(!received.all.isEmpty && !handedBack.all.isEmpty)
    }

    /// Two selects compete for every element of one channel with plain receivers beside
    /// them: each element goes to exactly one party.
    @Test func selectsAndReceiversCompeteForOneChannel() async throws {
        let count = 2_000 * stressFactor
        let channel = AsyncChannel<Int>()
        let other = AsyncChannel<Int>()
        let received = Collector<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for party in 0..<4 {
                group.addTask {
                    while true {
                        let element: Int?
                        if party < 2 {
                            element = try await select(channel.onReceive { $0 }, other.onReceive { _ in nil })
                        } else {
                            element = try? await channel.receive()
                        }
                        guard let element else { return }
                        received.append(element)
                    }
                }
            }
            let producer = PlainThread {
                for i in 0..<count { try! channel.send(i) }
                channel.close()
            }
            try await group.waitForAll()
            await producer.join()
        }
        #expect(received.all.sorted() == Array(0..<count))
        #expect(other.waitingReceivers == 0, "every select left the other channel")
    }

    /// A cancellation, a send and a close racing one waiting select, round after round: the
    /// select either returns the element (or the closure) or throws `CancellationError`, and
    /// then the element is still in the channel. Exactly once, whichever wins.
    @Test func cancellationRacingASendTakesNothing() async throws {
        let rounds = 1_000 * stressFactor
        let loop = try LoopThread(name: "select-cancel")
        defer { loop.shutdown() }
        var random = SeededRandom(seed: reliabilitySeeds(1)[0])
        var cancelled = 0
        for round in 0..<rounds {
            let a = AsyncChannel<Int>()
            let b = try BoundedAsyncChannel<Int>(capacity: round % 2)
            let selecting = Task(executorPreference: random.oneIn(2) ? loop.dispatcher : nil) {
                try await select(a.onReceive { $0 }, b.onReceive { $0 })
            }
            let toBounded = random.oneIn(2)
            let closes = random.oneIn(8)
            let sent = Counter()
            let sender = PlainThread {
                // At capacity 0 a trySend goes through only to a waiting receiver.
                if toBounded {
                    if (try? b.trySend(round)) != nil { sent.store(1) }
                } else {
                    try? a.send(round); sent.store(1)
                }
                if closes {
                    a.close()
                    b.close()
                }
            }
            for _ in 0..<random.next() % 4 { await Task.yield() }
            selecting.cancel()
            await sender.join()
            let left = a.tryReceive() ?? b.tryReceive()
            switch await selecting.result {
            case .success(let element):
                if let element {
                    #expect(element == round && left == nil, "round \(round): taken once")
                } else {
                    #expect(closes, "round \(round): nil only for a closed, drained channel")
                    #expect((left == round) == (sent.value == 1), "round \(round): the element is still queued")
                }
            case .failure(let error):
                #expect(error is CancellationError)
                #expect((left == round) == (sent.value == 1), "round \(round): a cancelled select took the element")
                cancelled += 1
            }
        }
        #expect(cancelled > 0, "no round cancelled a select that waited")
    }
}

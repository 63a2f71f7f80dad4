import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

@testable import AsyncChannels

/// The batch receives (`receive(upTo:into:)`, `receiveSync(upTo:into:)`,
/// `tryReceive(upTo:into:)` and the timeout forms) of both channels, and the queue's batched
/// pop under them.
@Suite struct BatchReceiveTests {
    static var slots: Int { QueueBlock<Int>.capacity }

    // MARK: The queue's batched pop

    /// Every batch size against every head offset: runs that stop at the tail, at a block's
    /// end and at `maxCount`, always in FIFO order, never more than asked.
    @Test func queueBatchPopIsFIFOAcrossBlockBoundaries() {
        let queue = BlockQueue<Int>()
        var next = 0
        var expected = 0
        for maxCount in 1...(3 * Self.slots) {
            // Uneven bursts, so that the head sits at every offset of a block.
            for _ in 0..<(maxCount % 7 + maxCount / 2) {
                #expect(queue.push(next) == nil)
                next += 1
            }
            var buffer = [-1]
            let queued = next - expected
            guard case .taken(let count) = queue.pop(upTo: maxCount, into: &buffer) else {
                Issue.record("a non-empty queue popped nothing")
                return
            }
            #expect(count == min(maxCount, queued))
            #expect(buffer == [-1] + Array(expected..<expected + count))
            expected += count
            #expect(queue.count == next - expected)
        }
        var rest: [Int] = []
        while case .taken = queue.pop(upTo: 5, into: &rest) {}
        #expect(rest == Array(expected..<next))
        guard case .empty = queue.pop(upTo: 3, into: &rest) else {
            Issue.record("an empty open queue pops .empty")
            return
        }
        #expect(queue.close())
        guard case .closed = queue.pop(upTo: 3, into: &rest) else {
            Issue.record("a closed, drained queue pops .closed")
            return
        }
    }

    /// Single and batched pops interleaved: the cached tail position of one never makes the
    /// other skip or repeat an element.
    @Test func queueSingleAndBatchPopsInterleave() {
        let queue = BlockQueue<Int>()
        var got: [Int] = []
        var next = 0
        for round in 0..<(4 * Self.slots) {
            for _ in 0..<(round % 11) {
                #expect(queue.push(next) == nil)
                next += 1
            }
            if round % 2 == 0 {
                _ = queue.pop(upTo: round % 5 + 1, into: &got)
            } else if case .element(let value) = queue.pop() {
                got.append(value)
            }
        }
        while case .element(let value) = queue.pop() { got.append(value) }
        #expect(got == Array(0..<next))
    }

    /// Batched pops free and reuse blocks like single ones: a steady stream holds at most
    /// two blocks and the spare, and every element popped or left behind is released once.
    @Test func queueBatchPopRecyclesBlocksAndReleasesElements() {
        let counter = LiveCounter()
        var kept: [Payload] = []
        do {
            let queue = BlockQueue<Payload>()
            var value = 0
            for round in 0..<(20 * Self.slots) {
                for _ in 0..<(round % 9) {
                    #expect(queue.push(Payload(value, counter: counter)) == nil)
                    value += 1
                }
                var batch: [Payload] = []
                _ = queue.pop(upTo: round % 13 + 1, into: &batch)
                kept.append(contentsOf: batch.prefix(1))
                #expect(queue.ownedSlots <= 3 * Self.slots)
            }
            // The queue goes with elements still in it.
        }
        #expect(counter.live == kept.count)
        kept.removeAll()
        #expect(counter.live == 0)
    }

    /// Producers and consumers on plain threads straight on the queue, the consumers mixing
    /// single pops and batches of every size (so runs start at every offset, and a run that
    /// ends a block often frees it while another consumer still reads an earlier slot): each
    /// element arrives once, in order per producer, and every payload is released, so no
    /// block was freed early or kept.
    @Test(.heavyStress, .stressTimeLimit(quick: 2)) func queueMixedPopsOnManyThreadsLoseAndLeakNothing() async {
        let counter = LiveCounter()
        let producers = 3
        let consumers = 3
        let perProducer = 20_000 * stressFactor
        let received = Collector<Tagged>()
        let taken = Counter()
        let disordered = Counter()
        do {
            let queue = BlockQueue<(Tagged, Payload)>()
            await onPlainThreads(producers + consumers) { index in
                if index < producers {
                    for sequence in 0..<perProducer {
                        _ = queue.push(
                            (Tagged(producer: index, sequence: sequence), Payload(sequence, counter: counter)))
                    }
                    return
                }
                var got: [Tagged] = []
                var batch: [(Tagged, Payload)] = []
                var round = index
                while taken.value < producers * perProducer {
                    round += 1
                    if round % 3 == 0 {
                        if case .element(let item) = queue.pop() {
                            got.append(item.0)
                            taken.add()
                            continue
                        }
                    } else {
                        batch.removeAll(keepingCapacity: true)
                        if case .taken(let count) = queue.pop(upTo: round % 45 + 1, into: &batch) {
                            got.append(contentsOf: batch.map(\.0))
                            taken.add(count)
                            continue
                        }
                    }
                    sched_yield()
                }
                if !increasingPerProducer(got) { disordered.add() }
                received.append(contentsOf: got)
            }
            #expect(queue.count == 0)
            #expect(queue.ownedSlots <= 3 * Self.slots)
        }
        let all = received.all
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == producers * perProducer)
        #expect(disordered.value == 0)
        #expect(counter.live == 0, "a payload was not released")
    }

    // MARK: Counts, order and the end of the stream

    @Test func tryReceiveTakesUpToMaxCountAndKeepsTheBuffer() throws {
        let channel = AsyncChannel<Int>()
        for value in 0..<100 { try channel.send(value) }
        var buffer = [-1]
        #expect(channel.tryReceive(upTo: 7, into: &buffer) == 7)
        #expect(buffer == [-1, 0, 1, 2, 3, 4, 5, 6])
        buffer.removeAll()
        #expect(channel.tryReceive(upTo: 1000, into: &buffer) == 93)
        #expect(buffer == Array(7..<100))
        #expect(channel.tryReceive(upTo: 4, into: &buffer) == 0)
        #expect(buffer.count == 93)
        channel.close()
        #expect(channel.tryReceive(upTo: 4, into: &buffer) == 0)
    }

    @Test func boundedTryReceiveTakesUpToMaxCount() throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 8)
        for value in 0..<8 { try channel.trySend(value) }
        var buffer: [Int] = []
        #expect(channel.tryReceive(upTo: 3, into: &buffer) == 3)
        #expect(channel.tryReceive(upTo: 30, into: &buffer) == 5)
        #expect(buffer == Array(0..<8))
        #expect(channel.tryReceive(upTo: 3, into: &buffer) == 0)
    }

    @Test func unboundedBatchesEndWithClosedOnceDrained() async throws {
        let channel = AsyncChannel<Int>()
        for value in 0..<5 { try channel.send(value) }
        channel.close()
        try await expectBatchesThenClosed(
            { buffer in try await channel.receive(upTo: 3, into: &buffer) },
            { buffer in try channel.receiveSync(upTo: 3, into: &buffer) })
    }

    @Test func boundedBatchesEndWithClosedOnceDrained() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 5)
        for value in 0..<5 { try channel.trySend(value) }
        channel.close()
        try await expectBatchesThenClosed(
            { buffer in try await channel.receive(upTo: 3, into: &buffer) },
            { buffer in try channel.receiveSync(upTo: 3, into: &buffer) })
    }

    /// Five queued elements and a closed channel: the async form takes 3, the blocking form
    /// the 2 left, then both throw `closed`.
    func expectBatchesThenClosed(
        _ receive: (inout [Int]) async throws -> Int, _ receiveSync: (inout [Int]) throws -> Int
    ) async throws {
        var buffer: [Int] = []
        #expect(try await receive(&buffer) == 3)
        #expect(try receiveSync(&buffer) == 2)
        #expect(buffer == [0, 1, 2, 3, 4])
        do {
            _ = try await receive(&buffer)
            Issue.record("a drained, closed channel returned elements")
        } catch {
            #expect(error as? ChannelError == .closed)
        }
        do {
            _ = try receiveSync(&buffer)
            Issue.record("a drained, closed channel returned elements")
        } catch {
            #expect(error as? ChannelError == .closed)
        }
        #expect(buffer == [0, 1, 2, 3, 4])
    }

    /// A receive on an empty channel waits for the first element and returns it alone; one
    /// on a channel with a backlog takes the backlog at once.
    @Test func receiveWaitsForOneElementThenTakesTheBacklog() async throws {
        let loop = try LoopThread(name: "batch-wait")
        defer { loop.shutdown() }
        let channel = AsyncChannel<Int>()
        let waiting = Task(executorPreference: loop.dispatcher) {
            var buffer: [Int] = []
            let count = try await channel.receive(upTo: 10, into: &buffer)
            return (count, buffer)
        }
        await waitUntil("the batch receive to wait") { channel.waitingReceivers == 1 }
        try channel.send(42)
        let (count, buffer) = try await waiting.value
        #expect(count == 1)
        #expect(buffer == [42])

        for value in 0..<25 { try channel.send(value) }
        let backlog = try await Task(executorPreference: loop.dispatcher) {
            var buffer: [Int] = []
            _ = try await channel.receive(upTo: 10, into: &buffer)
            _ = try await channel.receive(upTo: 100, into: &buffer)
            return buffer
        }.value
        #expect(backlog == Array(0..<25))
    }

    /// A plain thread blocked in `receiveSync(upTo:into:)` wakes for a send, and for a close.
    @Test func receiveSyncBlocksUntilASendOrAClose() async throws {
        let channel = AsyncChannel<Int>()
        let outcomes = Collector<String>()
        let thread = PlainThread {
            var buffer: [Int] = []
            do {
                let count = try channel.receiveSync(upTo: 4, into: &buffer)
                outcomes.append(contentsOf: ["\(count):\(buffer)"])
                _ = try channel.receiveSync(upTo: 4, into: &buffer)
                outcomes.append(contentsOf: ["no close"])
            } catch {
                outcomes.append(contentsOf: ["\(error)"])
            }
        }
        await waitUntil("the thread to block") { channel.waitingReceivers == 1 }
        try channel.send(7)
        await waitUntil("the thread to block again") { channel.waitingReceivers == 1 }
        channel.close()
        await thread.join()
        #expect(outcomes.all == ["1:[7]", "\(ChannelError.closed)"])
    }

    /// A batch receive that finds fewer elements than it would like lingers for a moment
    /// (see `UnboundedChannelStorage.batchWorthWaitingFor`), then takes what is there: it does
    /// not hold a short batch back for the whole of its thread's idle window (1 s here). Read
    /// on the receiving thread's CPU clock, so that a loaded machine cannot make it fail: a
    /// receive that spun out its window would use about a second of CPU.
    @Test func aShortBatchIsTakenAfterAMomentNotAfterTheIdleWindow() async throws {
        let channel = AsyncChannel<Int>()
        for value in 1...3 { try channel.send(value) }
        let outcome = Collector<String>()
        let thread = PlainThread {
            IdlePolicy.currentThread = .spin(for: .seconds(1))
            var buffer: [Int] = []
            let before = threadCPUNanoseconds()
            let count = try? channel.receiveSync(upTo: 100, into: &buffer)
            let used = threadCPUNanoseconds() - before
            outcome.append(contentsOf: ["\(count ?? -1):\(buffer)", used < 250_000_000 ? "brief" : "spun \(used) ns"])
        }
        await thread.join()
        #expect(outcome.all == ["3:[1, 2, 3]", "brief"])
    }

    // MARK: Bad input, loops, timeouts

    @Test func maxCountBelowOneThrowsAndTakesNothing() async throws {
        let unbounded = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 4)
        try unbounded.send(1)
        try bounded.trySend(1)
        var buffer: [Int] = []
        for maxCount in [0, -1, Int.min] {
            await #expect(throws: ChannelError.invalidMaxCount) {
                try await unbounded.receive(upTo: maxCount, into: &buffer)
            }
            await #expect(throws: ChannelError.invalidMaxCount) {
                try await bounded.receive(upTo: maxCount, into: &buffer)
            }
            #expect(throws: ChannelError.invalidMaxCount) { try unbounded.receiveSync(upTo: maxCount, into: &buffer) }
            #expect(throws: ChannelError.invalidMaxCount) { try bounded.receiveSync(upTo: maxCount, into: &buffer) }
            await #expect(throws: ChannelError.invalidMaxCount) {
                try await unbounded.receive(upTo: maxCount, into: &buffer, timeout: .seconds(5))
            }
            #expect(throws: ChannelError.invalidMaxCount) {
                try bounded.receiveSync(upTo: maxCount, into: &buffer, timeout: .seconds(5))
            }
        }
        #expect(buffer.isEmpty)
        #expect(unbounded.count == 1)
        #expect(bounded.count == 1)
    }

    @Test func tryReceiveWithMaxCountBelowOneStopsTheProcessWithAMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let channel = AsyncChannel<Int>()
            var buffer: [Int] = []
            _ = channel.tryReceive(upTo: 0, into: &buffer)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("tryReceive(upTo:into:) needs a maxCount of at least 1"))
    }

    /// On a loop thread the blocking form takes what is queued, and throws `wouldBlockLoop`
    /// where it would wait.
    @Test func receiveSyncOnALoopNeverParks() async throws {
        let loop = try LoopThread(name: "batch-sync-loop")
        defer { loop.shutdown() }
        let unbounded = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 4)
        try unbounded.send(1)
        try bounded.trySend(2)
        let outcome = await Task(executorPreference: loop.dispatcher) { () -> [String] in
            var buffer: [Int] = []
            var outcome: [String] = []
            outcome.append("\((try? unbounded.receiveSync(upTo: 5, into: &buffer)) ?? -1)")
            outcome.append("\((try? bounded.receiveSync(upTo: 5, into: &buffer)) ?? -1)")
            do { _ = try unbounded.receiveSync(upTo: 5, into: &buffer) } catch { outcome.append("\(error)") }
            do { _ = try bounded.receiveSync(upTo: 5, into: &buffer, timeout: .seconds(30)) } catch {
                outcome.append("\(error)")
            }
            outcome.append("\(buffer)")
            return outcome
        }.value
        let wouldBlock = "\(ChannelError.wouldBlockLoop)"
        #expect(outcome == ["1", "1", wouldBlock, wouldBlock, "[1, 2]"])
    }

    @Test func timeoutsTakeNothingAndLeaveLaterElements() async throws {
        let unbounded = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 2)
        var buffer: [Int] = []
        await #expect(throws: ChannelError.timedOut) {
            try await unbounded.receive(upTo: 3, into: &buffer, timeout: .milliseconds(5))
        }
        #expect(throws: ChannelError.timedOut) { try bounded.receiveSync(upTo: 3, into: &buffer, timeout: .zero) }
        #expect(throws: ChannelError.timedOut) {
            try unbounded.receiveSync(upTo: 3, into: &buffer, timeout: .milliseconds(5))
        }
        await #expect(throws: ChannelError.timedOut) {
            try await bounded.receive(upTo: 3, into: &buffer, timeout: .zero)
        }
        #expect(buffer.isEmpty)
        try unbounded.send(5)
        try bounded.trySend(6)
        #expect(try await unbounded.receive(upTo: 3, into: &buffer, timeout: .seconds(30)) == 1)
        #expect(try bounded.receiveSync(upTo: 3, into: &buffer, timeout: .seconds(30)) == 1)
        #expect(buffer == [5, 6])
    }

    // MARK: Cancellation

    /// A cancelled batch wait throws `CancellationError`, leaves the buffer alone and takes
    /// nothing: the element sent afterwards is still in the channel.
    @Test func cancelledWaitTakesNothing() async throws {
        let loop = try LoopThread(name: "batch-cancel")
        defer { loop.shutdown() }
        let unbounded = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 2)
        let waiters: [Task<[Int], any Error>] = [
            Task(executorPreference: loop.dispatcher) {
                var buffer = [-1]
                do { _ = try await unbounded.receive(upTo: 8, into: &buffer) } catch is CancellationError {
                    #expect(buffer == [-1])
                    throw CancellationError()
                }
                return buffer
            },
            Task {
                var buffer = [-1]
                do { _ = try await bounded.receive(upTo: 8, into: &buffer) } catch is CancellationError {
                    #expect(buffer == [-1])
                    throw CancellationError()
                }
                return buffer
            },
        ]
        await waitUntil("both receives to wait") { unbounded.waitingReceivers == 1 && bounded.waitingReceivers == 1 }
        for waiter in waiters { waiter.cancel() }
        for waiter in waiters {
            await #expect(throws: CancellationError.self) { try await waiter.value }
        }
        try unbounded.send(1)
        try bounded.trySend(2)
        #expect(unbounded.tryReceive() == 1)
        #expect(bounded.tryReceive() == 2)
    }

    /// A batch receive racing its own cancellation and a send: it returns the element or
    /// throws `CancellationError` with the element left in the channel. Never lost or doubled.
    @Test(.heavyStress, .stressTimeLimit) func cancelledBatchReceiveNeverLosesAnElement() async throws {
        let loop = try LoopThread(name: "batch-cancel-race")
        defer { loop.shutdown() }
        for iteration in 0..<(1000 * stressFactor) {
            let channel = AsyncChannel<Int>()
            let receiver: Task<[Int], any Error> = Task(executorPreference: loop.dispatcher) {
                var buffer: [Int] = []
                _ = try await channel.receive(upTo: 4, into: &buffer)
                return buffer
            }
            if iteration % 2 == 0 {
                try channel.send(iteration)
                receiver.cancel()
            } else {
                receiver.cancel()
                try channel.send(iteration)
            }
            switch await receiver.result {
            case .success(let buffer):
                #expect(buffer == [iteration])
                #expect(channel.count == 0)
            case .failure(let error):
                #expect(error is CancellationError)
                #expect(channel.tryReceive() == iteration, "a cancelled batch receive swallowed the element")
            }
        }
    }

    // MARK: The bounded channel's senders

    /// Taking `k` elements from a full channel frees `k` slots: the `k` longest-waiting
    /// senders get in, in the order they waited; past the queued elements a batch takes
    /// waiting senders' elements straight from them.
    @Test func boundedBatchResumesWaitingSendersInOrder() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 4)
        for value in 0..<4 { try channel.trySend(value) }
        var senders: [Task<Void, any Error>] = []
        for value in 4..<10 {
            senders.append(Task { try await channel.send(value) })
            await waitUntil("sender \(value) to wait") { channel.waitingSenders == value - 3 }
        }
        var buffer: [Int] = []
        #expect(channel.tryReceive(upTo: 3, into: &buffer) == 3)
        #expect(buffer == [0, 1, 2])
        #expect(channel.count == 4)
        #expect(channel.waitingSenders == 3)
        for sender in senders.prefix(3) { try await sender.value }

        buffer.removeAll()
        #expect(try channel.receiveSync(upTo: 100, into: &buffer) == 7)
        #expect(buffer == Array(3..<10))
        #expect(channel.count == 0)
        #expect(channel.waitingSenders == 0)
        for sender in senders { try await sender.value }
    }

    /// At capacity 0 a batch takes elements straight from waiting senders, one per sender.
    @Test func rendezvousBatchTakesFromWaitingSenders() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 0)
        var senders: [Task<Void, any Error>] = []
        for value in 0..<3 {
            senders.append(Task { try await channel.send(value) })
            await waitUntil("sender \(value) to wait") { channel.waitingSenders == value + 1 }
        }
        var buffer: [Int] = []
        #expect(channel.tryReceive(upTo: 2, into: &buffer) == 2)
        #expect(buffer == [0, 1])
        #expect(channel.waitingSenders == 1)
        #expect(try await channel.receive(upTo: 2, into: &buffer) == 1)
        #expect(buffer == [0, 1, 2])
        for sender in senders { try await sender.value }
    }

    @Test func stateMachineBatchFreesSlotsForSendersInOrder() {
        var machine = BoundedChannelStateMachine<String, Token, Token>(capacity: 2)
        defer { machine.releaseStorage() }
        _ = machine.send("a")
        _ = machine.send("b")
        for (index, word) in ["c", "d", "e"].enumerated() {
            guard
                case .suspended = machine.sendOrSuspend(
                    word, id: UInt64(index + 1), token: Token(integerLiteral: index))
            else {
                Issue.record("a send to a full channel did not wait")
                return
            }
        }
        var buffer: [String] = []
        guard case .taken(let count, let senders) = machine.receive(upTo: 3, into: &buffer) else {
            Issue.record("nothing taken")
            return
        }
        // a, b from the buffer, c straight from its sender; d and e fill the two slots.
        #expect(count == 3)
        #expect(buffer == ["a", "b", "c"])
        #expect(senders == [0, 1, 2])
        #expect(machine.count == 2)
        guard case .taken(let refilled, let none) = machine.receive(upTo: 5, into: &buffer) else {
            Issue.record("the refilled slots were not taken")
            return
        }
        #expect(refilled == 2)
        #expect(none.isEmpty)
        #expect(buffer == ["a", "b", "c", "d", "e"])
        guard case .empty = machine.receive(upTo: 1, into: &buffer) else {
            Issue.record("not empty")
            return
        }
    }

    // MARK: Stress

    /// Four producer threads; consumers of every kind, mixing single and batch receives: a
    /// loop task in `receive(upTo:into:)` with varying sizes, a loop task iterating, a task
    /// on the global executor in `receive()`, a plain thread in `receiveSync(upTo:into:)`
    /// and one polling `tryReceive(upTo:into:)`. Every element arrives exactly once, and
    /// each consumer sees each producer's elements in order.
    @Test(.heavyStress, .stressTimeLimit) func unboundedMixedReceivesDeliverEachElementOnceInOrder() async throws {
        let channel = AsyncChannel<Tagged>()
        try await mixedReceives(
            perProducer: 20_000 * stressFactor,
            send: { item in try? channel.send(item) },
            close: channel.close,
            batch: { maxCount, buffer in try await channel.receive(upTo: maxCount, into: &buffer) },
            iterate: { body in for await item in channel { body(item) } },
            single: { try await channel.receive() },
            batchSync: { maxCount, buffer in try channel.receiveSync(upTo: maxCount, into: &buffer) },
            poll: { maxCount, buffer in
                let count = channel.tryReceive(upTo: maxCount, into: &buffer)
                return count == 0 && channel.isClosed && channel.count == 0 ? nil : count
            })
    }

    @Test(.heavyStress, .stressTimeLimit) func boundedMixedReceivesDeliverEachElementOnceInOrder() async throws {
        let channel = try BoundedAsyncChannel<Tagged>(capacity: 16)
        try await mixedReceives(
            perProducer: 5_000 * stressFactor,
            send: { item in try? channel.sendSync(item) },
            close: channel.close,
            batch: { maxCount, buffer in try await channel.receive(upTo: maxCount, into: &buffer) },
            iterate: { body in for await item in channel { body(item) } },
            single: { try await channel.receive() },
            batchSync: { maxCount, buffer in try channel.receiveSync(upTo: maxCount, into: &buffer) },
            poll: { maxCount, buffer in
                let count = channel.tryReceive(upTo: maxCount, into: &buffer)
                return count == 0 && channel.isClosed && channel.count == 0 ? nil : count
            })
    }

    func mixedReceives(
        perProducer: Int,
        send: @escaping @Sendable (Tagged) -> Void,
        close: @escaping @Sendable () -> Void,
        batch: @escaping @Sendable (Int, inout [Tagged]) async throws -> Int,
        iterate: @escaping @Sendable (_ body: (Tagged) -> Void) async -> Void,
        single: @escaping @Sendable () async throws -> Tagged,
        batchSync: @escaping @Sendable (Int, inout [Tagged]) throws -> Int,
        poll: @escaping @Sendable (Int, inout [Tagged]) -> Int?
    ) async throws {
        let loopA = try LoopThread(name: "batch-mpmc-a")
        let loopB = try LoopThread(name: "batch-mpmc-b")
        defer {
            loopA.shutdown()
            loopB.shutdown()
        }
        let producers = 4
        let received = Collector<[Tagged]>()
        let wrongCount = Counter()

        let tasks = [
            Task(executorPreference: loopA.dispatcher) {
                var got: [Tagged] = []
                var maxCount = 1
                while true {
                    let before = got.count
                    guard let count = try? await batch(maxCount, &got) else { break }
                    if count < 1 || count > maxCount || got.count - before != count { wrongCount.add(1) }
                    maxCount = maxCount % 67 + 1
                }
                received.append(contentsOf: [got])
            },
            Task(executorPreference: loopB.dispatcher) {
                var got: [Tagged] = []
                await iterate { got.append($0) }
                received.append(contentsOf: [got])
            },
            Task {
                var got: [Tagged] = []
                while let item = try? await single() { got.append(item) }
                received.append(contentsOf: [got])
            },
        ]
        let threads = [
            PlainThread {
                var got: [Tagged] = []
                var maxCount = 3
                while true {
                    let before = got.count
                    guard let count = try? batchSync(maxCount, &got) else { break }
                    if count < 1 || count > maxCount || got.count - before != count { wrongCount.add(1) }
                    maxCount = maxCount % 41 + 1
                }
                received.append(contentsOf: [got])
            },
            PlainThread {
                var got: [Tagged] = []
                var maxCount = 1
                while let count = poll(maxCount, &got) {
                    if count > maxCount { wrongCount.add(1) }
                    if count == 0 { sched_yield() }
                    maxCount = maxCount % 97 + 1
                }
                received.append(contentsOf: [got])
            },
        ]
        await onPlainThreads(producers) { producer in
            for sequence in 0..<perProducer { send(Tagged(producer: producer, sequence: sequence)) }
        }
        close()
        for task in tasks { await task.value }
        for thread in threads { await thread.join() }

        let perConsumer = received.all
        let all = perConsumer.flatMap { $0 }
        #expect(all.count == producers * perProducer, "elements lost or doubled")
        #expect(Set(all).count == all.count, "an element was received twice")
        for got in perConsumer {
            #expect(increasingPerProducer(got), "a consumer saw a producer's elements out of order")
        }
        #expect(wrongCount.value == 0, "a batch returned a count that does not match what it appended")
    }
}

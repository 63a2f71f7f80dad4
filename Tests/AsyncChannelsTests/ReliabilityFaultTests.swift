import AsyncChannels
import EventLoop
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// Faults around channels: the loop of a waiting receiver or sender shuts down, and a plain
/// thread keeps sending while the consumer's loop goes away.
@Suite("Reliability: channel faults", .stressTimeLimit)
struct ReliabilityChannelFaultTests {
    /// Waits until `channel` has `count` waiting receivers (an event caused by other tasks).
    func receivers<E>(_ channel: AsyncChannel<E>, reach count: Int) async {
        await waitUntil { channel.waitingReceivers >= count }
    }

    @Test func receiversOnADeadLoopAreStillResumedBySendCancelAndClose() async throws {
        let loop = try LoopThread(name: "dies")
        let dispatcher = loop.dispatcher
        let channel = AsyncChannel<Int>()
        let gotElement = Task(executorPreference: dispatcher) { try await channel.receive() }
        let cancelled = Task(executorPreference: dispatcher) { try await channel.receive() }
        await receivers(channel, reach: 2)
        loop.shutdown()
        #expect(dispatcher.isShutDown)
        // Channel waiters are not tied to the loop: a send after the shutdown reaches the
        // longest-waiting receiver, whose task runs on the dead loop's fallback queue.
        try channel.send(7)
        #expect(try await gotElement.value == 7)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }

        let closed = Task(executorPreference: dispatcher) { try await channel.receive() }
        await receivers(channel, reach: 1)
        channel.close()
        await #expect(throws: ChannelError.closed) { try await closed.value }
        #expect(channel.count == 0)
    }

    @Test func boundedSenderAndReceiverOnADeadLoopComplete() async throws {
        let loop = try LoopThread(name: "dies")
        let dispatcher = loop.dispatcher
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        try channel.trySend(1)
        let sender = Task(executorPreference: dispatcher) { try await channel.send(2) }
        await waitUntil { channel.waitingSenders == 1 }
        loop.shutdown()
        #expect(channel.tryReceive() == 1)  // makes room: the waiting sender's element moves in
        try await sender.value
        #expect(channel.tryReceive() == 2)
        let receiver = Task(executorPreference: dispatcher) { try await channel.receive() }
        await waitUntil { channel.waitingReceivers == 1 }
        try channel.trySend(3)
        #expect(try await receiver.value == 3)
    }

    /// A plain thread keeps sending while the consumer's loop shuts down: every element is
    /// either received by the consumer (before or after the loop died) or still in the
    /// channel, where `tryReceive` drains it.
    @Test func plainThreadSendingWhileTheConsumersLoopShutsDownLosesNothing() async throws {
        let total = 20_000 * stressFactor
        let live = LiveCounter()
        let loop = try LoopThread(name: "consumer")
        let dispatcher = loop.dispatcher
        let channel = AsyncChannel<Payload>()
        let received = Bitmap(count: total)
        let halfway = Counter()
        let consumer = Task(executorPreference: dispatcher) {
            // Stops receiving once it notices that its loop is gone, leaving the rest queued.
            while !dispatcher.isShutDown {
                guard let payload = try? await channel.receive() else { return }
                received.insert(payload.value)
                halfway.add()
            }
        }
        let producer = PlainThread(name: "producer") {
            for id in 0..<total { try? channel.send(Payload(id, counter: live)) }
        }
        await waitUntil { halfway.value >= total / 4 }
        loop.shutdown()
        await producer.join()
        channel.close()  // wakes the consumer if it waits on an empty channel
        await consumer.value
        let drained = Bitmap(count: total)
        while let payload = channel.tryReceive() { drained.insert(payload.value) }
        let (missing, duplicated) = Bitmap.partition([received, drained], count: total)
        #expect(missing == 0 && duplicated == 0)
        #expect(received.count + drained.count == total)
        #expect(live.live == 0)
    }
}

/// Bad input to the channel modules: every call on a closed channel and every invalid
/// capacity answers with its documented error, never a trap or a hang.
@Suite("Reliability: channel bad input", .stressTimeLimit)
struct ReliabilityChannelInputTests {
    @Test(arguments: [-1, -1_000_000, Int.min])
    func invalidCapacitiesThrowInvalidCapacity(capacity: Int) {
        #expect(throws: ChannelError.invalidCapacity) { try BoundedAsyncChannel<Int>(capacity: capacity) }
    }

    @Test func hugeCapacityBehavesAsUnbounded() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: .max)
        #expect(channel.capacity == .max)
        for i in 0..<10_000 { try channel.trySend(i) }
        try channel.sendSync(10_000)
        try await channel.send(10_001)
        #expect(channel.count == 10_002)
        #expect(channel.tryReceive() == 0)
    }

    @Test func everyCallOnAClosedAsyncChannel() async throws {
        let live = LiveCounter()
        let channel = AsyncChannel<Payload>()
        try channel.send(Payload(1, counter: live))
        channel.close()
        channel.close()  // idempotent
        #expect(channel.isClosed)
        do {
            try channel.send(Payload(2, counter: live))
            Issue.record("send on a closed channel succeeded")
        } catch {
            #expect(error.reason == .closed && error.element.value == 2)
            #expect("\(error)".contains("closed"))
        }
        // The queued element is still delivered, then every receive says closed.
        #expect(try channel.receiveSync().value == 1)
        #expect(channel.tryReceive() == nil)
        #expect(throws: ChannelError.closed) { try channel.receiveSync() }
        await #expect(throws: ChannelError.closed) { try await channel.receive() }
        var iterator = channel.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        #expect(await iterator.next() == nil)
        for await _ in channel { Issue.record("iteration of a closed, drained channel produced an element") }
        #expect(live.live == 0)
    }

    @Test func everyCallOnAClosedBoundedChannel() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        try channel.trySend(1)
        channel.close()
        for attempt in 0..<3 {
            let error: ChannelSendError<Int>?
            switch attempt {
            case 0: error = Self.failure { () throws(ChannelSendError<Int>) in try channel.trySend(2) }
            case 1: error = Self.failure { () throws(ChannelSendError<Int>) in try channel.sendSync(2) }
            default:
                do throws(ChannelSendError<Int>) {
                    try await channel.send(2)
                    error = nil
                } catch let caught {
                    error = caught
                }
            }
            #expect(error?.reason == .closed && error?.element == 2, "attempt \(attempt)")
        }
        #expect(channel.count == 1)
        #expect(try channel.receiveSync() == 1)
        #expect(throws: ChannelError.closed) { try channel.receiveSync() }
        await #expect(throws: ChannelError.closed) { try await channel.receive() }
        #expect(channel.tryReceive() == nil)
    }

    @Test func cancelledCallsOnAnEmptyOpenChannelThrowCancellation() async throws {
        let channel = AsyncChannel<Int>()
        let receive = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await channel.receive()
        }
        await #expect(throws: CancellationError.self) { try await receive.value }
        let bounded = try BoundedAsyncChannel<Int>(capacity: 1)
        try bounded.trySend(0)
        let send = Task { () -> ChannelError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(ChannelSendError<Int>) {
                try await bounded.send(1)
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(await send.value == .cancelled)
        #expect(bounded.count == 1 && channel.count == 0)
    }

    static func failure(_ body: () throws(ChannelSendError<Int>) -> Void) -> ChannelSendError<Int>? {
        do throws(ChannelSendError<Int>) {
            try body()
            return nil
        } catch {
            return error
        }
    }
}

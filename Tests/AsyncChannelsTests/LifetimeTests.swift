import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

/// What a channel does when its last reference goes: it closes, so iterators that keep only
/// its queue alive receive what is queued and end. The element accounting is unchanged.
@Suite("Channel lifetimes", .stressTimeLimit)
struct ChannelLifetimeTests {
    /// crossbeam's `test_recv_into_iter_owned`, tokio's "dropping all senders closes the
    /// channel": a consumer iterating a channel nobody else holds ends after the last element.
    @Test func forAwaitEndsOnceTheLastReferenceToAnAsyncChannelGoes() async throws {
        let count = 1_000 * stressFactor
        let box = LockedValue<AsyncChannel<Int>?>(AsyncChannel())
        let storage = try #require(box.withLock { $0?.storage })
        let started = Counter()
        let consumer = Task { () -> [Int] in
            var iterator = box.withLock { $0!.makeAsyncIterator() }
            started.store(1)
            var received: [Int] = []
            while let element = await iterator.next() { received.append(element) }
            return received
        }
        await waitUntil("the consumer's iterator") { started.value == 1 }
        let producer = PlainThread {
            let channel = box.withLock { $0! }
            for i in 0..<count { try? channel.send(i) }
        }
        await producer.join()
        // The consumer may be anywhere: waiting, or still draining. Dropping the last
        // reference closes the channel; the consumer ends once it has everything.
        box.withLock { $0 = nil }
        #expect(storage.isClosed)
        #expect(await consumer.value == Array(0..<count))
    }

    /// A consumer that is suspended in `next()` on an empty channel when its last reference
    /// goes is woken and ends.
    @Test func aWaitingIteratorEndsWhenTheLastReferenceGoes() async throws {
        let box = LockedValue<BoundedAsyncChannel<Int>?>(try BoundedAsyncChannel(capacity: 2))
        let storage = try #require(box.withLock { $0?.storage })
        let consumer = Task { () -> Int in
            var iterator = box.withLock { $0!.makeAsyncIterator() }
            var received = 0
            while await iterator.next() != nil { received += 1 }
            return received
        }
        await waitUntil("the consumer to wait") { storage.state.withLock { $0.receivers.count } == 1 }
        box.withLock { $0 = nil }
        #expect(await consumer.value == 0)
    }

    /// An unbounded channel released with elements queued and no iterator releases them.
    @Test func queuedElementsAreReleasedWithTheLastReference() async throws {
        let counter = LiveCounter()
        do {
            let channel = AsyncChannel<Payload>()
            for i in 0..<100 { try channel.send(Payload(i, counter: counter)) }
            let bounded = try BoundedAsyncChannel<Payload>(capacity: 8)
            for i in 0..<8 { try await bounded.send(Payload(i, counter: counter)) }
            #expect(counter.live == 108)
        }
        #expect(counter.live == 0)
    }
}

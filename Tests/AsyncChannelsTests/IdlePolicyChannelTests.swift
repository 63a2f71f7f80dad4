import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

/// The blocking waits of plain threads under each idle policy: whatever the spin does
/// (none, a fixed window, an adaptive one that keeps missing or hitting), every element is
/// delivered exactly once and no blocked thread is left asleep.
@Suite("Idle policies of blocking channel waits", .stressTimeLimit)
struct IdlePolicyChannelTests {
    static let policies: [IdlePolicy] = [
        .adaptive, .never, .spin(for: .microseconds(20)), .adaptive(window: .microseconds(1)),
    ]

    @Test(.heavyStress, arguments: policies)
    func unboundedReceiveSyncUnderAPolicy(_ policy: IdlePolicy) async throws {
        let channel = AsyncChannel<Int>()
        let producers = 2
        let consumers = 2
        let perProducer = 2_000 * stressFactor
        let seen = (0..<consumers).map { _ in Bitmap(count: producers * perProducer) }
        let received = Counter()
        let consumerThreads = (0..<consumers).map { index in
            PlainThread {
                IdlePolicy.currentThread = policy
                while let value = try? channel.receiveSync() {
                    seen[index].insert(value)
                    _ = received.add()
                }
            }
        }
        await onPlainThreads(producers) { producer in
            IdlePolicy.currentThread = policy
            var random = SeededRandom(seed: UInt64(producer + 7))
            for sequence in 0..<perProducer {
                try? channel.send(producer * perProducer + sequence)
                // Now and then a pause longer than the spins, so that consumers park too.
                if random.next() % 64 == 0 { usleep(UInt32(random.next() % 100)) }
            }
        }
        await waitUntil("every element to be received") { received.value == producers * perProducer }
        channel.close()
        for thread in consumerThreads { await thread.join() }
        let (missing, duplicated) = Bitmap.partition(seen, count: producers * perProducer)
        #expect(missing == 0)
        #expect(duplicated == 0)
    }

    /// Two plain threads on one CPU answering each other through two channels, each
    /// spinning (for up to 100 ms) in `receiveSync()`: each spin gives the CPU to the other
    /// thread, so an exchange costs microseconds of CPU, not the scheduler tick after which a
    /// spinner that held the CPU would be preempted (1 to 4 ms).
    @Test func spinningReceiversOnOneCPUTakeTurns() async throws {
        let pings = AsyncChannel<Int>()
        let pongs = AsyncChannel<Int>()
        let perExchange = await callerCPUPerExchangeOnOneCPU(
            trips: 50,
            policy: .spin(for: .milliseconds(100)),
            echo: { try? pongs.send(try pings.receiveSync()) },
            call: {
                try? pings.send(1)
                _ = try? pongs.receiveSync()
            }
        )
        #expect(perExchange < 500_000, "\(perExchange) ns of CPU per exchange")
    }

    @Test(.heavyStress, arguments: policies)
    func boundedSendSyncAndReceiveSyncUnderAPolicy(_ policy: IdlePolicy) async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 2)
        let producers = 2
        let perProducer = 2_000 * stressFactor
        let seen = Bitmap(count: producers * perProducer)
        let consumer = PlainThread {
            IdlePolicy.currentThread = policy
            var random = SeededRandom(seed: 99)
            while let value = try? channel.receiveSync() {
                seen.insert(value)
                // Now and then slower than the producers, so that they block for room.
                if random.next() % 64 == 0 { usleep(UInt32(random.next() % 100)) }
            }
        }
        await onPlainThreads(producers) { producer in
            IdlePolicy.currentThread = policy
            for sequence in 0..<perProducer { try? channel.sendSync(producer * perProducer + sequence) }
        }
        channel.close()
        await consumer.join()
        let (missing, duplicated) = Bitmap.partition([seen], count: producers * perProducer)
        #expect(missing == 0)
        #expect(duplicated == 0)
    }
}

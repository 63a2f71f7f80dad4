import LoopTestSupport
import Synchronization
import Testing

@testable import LoopUtilities

/// Counts the live instances of `Counted`, to prove the ring destroys exactly what it holds.
private final class LiveCount: Sendable {
    let atomic = Atomic<Int>(0)
    func add(_ delta: Int) { atomic.add(delta, ordering: .relaxed) }
    var value: Int { atomic.load(ordering: .relaxed) }
}

private final class Counted {
    let value: Int
    let live: LiveCount

    init(_ value: Int, live: LiveCount) {
        self.value = value
        self.live = live
        live.add(1)
    }

    deinit { live.add(-1) }
}

// The ring is ~Copyable, which `#expect` cannot capture: each check reads into a local first.
@Suite("RingBuffer")
struct RingBufferTests {
    @Test func capacityIsAPowerOfTwoAtLeastTheMinimum() {
        for minimum in [0, 1, 2, 3, 5, 16, 17, 100] {
            var ring = RingBuffer<Int>(minimumCapacity: minimum)
            let capacity = ring.capacity
            let empty = ring.isEmpty
            ring.releaseStorage()
            #expect(capacity >= max(minimum, 2))
            #expect(capacity.nonzeroBitCount == 1)
            #expect(empty)
        }
    }

    @Test func fifoAcrossWrapAroundAndGrowth() {
        var ring = RingBuffer<Int>(minimumCapacity: 4)
        defer { ring.releaseStorage() }
        var model: [Int] = []
        var random = SeededRandom(seed: 0x5EED)
        var next = 0
        // Interleave appends and pops so that the live run wraps before each growth.
        for _ in 0..<10_000 {
            if model.isEmpty || random.next() % 3 != 0 {
                ring.append(next)
                model.append(next)
                next += 1
            } else {
                let popped = ring.popFirst()
                #expect(popped == model.removeFirst())
            }
            let count = ring.count
            #expect(count == model.count)
        }
        while let element = ring.popFirst() { #expect(element == model.removeFirst()) }
        let last = ring.popFirst()
        #expect(model.isEmpty)
        #expect(last == nil)
    }

    @Test func removeFirstWhereKeepsTheOthersInOrder() {
        var ring = RingBuffer<Int>(minimumCapacity: 8)
        defer { ring.releaseStorage() }
        // Make the live run wrap: head in the middle of the buffer.
        for i in 0..<6 { ring.append(i) }
        for _ in 0..<5 { _ = ring.popFirst() }
        for i in 6..<12 { ring.append(i) }  // 5 ... 11, wrapping past the end
        let eight = ring.removeFirst { $0 == 8 }
        let absent = ring.removeFirst { $0 == 42 }
        let first = ring.removeFirst { $0 == 5 }
        let last = ring.removeFirst { $0 == 11 }
        let rest = ring.removeAll()
        let empty = ring.isEmpty
        ring.append(99)
        let reused = ring.popFirst()
        #expect(eight == 8)
        #expect(absent == nil)
        #expect(first == 5)
        #expect(last == 11)
        #expect(rest == [6, 7, 9, 10])
        #expect(empty)
        #expect(reused == 99)
    }

    @Test func releaseStorageDestroysWhatIsLeftExactlyOnce() {
        let live = LiveCount()
        var ring = RingBuffer<Counted>(minimumCapacity: 4)
        for i in 0..<7 { ring.append(Counted(i, live: live)) }  // grows once
        let first = ring.popFirst()?.value
        for i in 7..<9 { ring.append(Counted(i, live: live)) }  // wraps
        let held = live.value
        ring.releaseStorage()
        #expect(first == 0)
        #expect(held == 8)
        #expect(live.value == 0)
    }
}

import LoopTestSupport
import Testing

@testable import LoopUtilities

@Suite("TimerHeap")
struct TimerHeapTests {
    @Test func popsInDeadlineOrderAndEqualDeadlinesInInsertionOrder() {
        var heap = TimerHeap<String>()
        heap.insert("c", deadline: 30)
        heap.insert("a1", deadline: 10)
        heap.insert("b", deadline: 20)
        heap.insert("a2", deadline: 10)
        heap.insert("a3", deadline: 10)
        #expect(heap.count == 5)
        #expect(heap.nextDeadline == 10)
        #expect(heap.popDue(now: 9) == nil)
        #expect(heap.popDue(now: 10) == "a1")
        #expect(heap.popDue(now: 10) == "a2")
        #expect(heap.popDue(now: 10) == "a3")
        #expect(heap.popDue(now: 10) == nil)
        #expect(heap.popDue(now: 100) == "b")
        #expect(heap.popDue(now: 100) == "c")
        #expect(heap.isEmpty)
        #expect(heap.nextDeadline == nil)
    }

    /// Random inserts, pops and removals against a sorted model.
    @Test(arguments: [1, 2, 3, 4])
    func matchesASortedModel(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var heap = TimerHeap<Int>()
        var model: [(deadline: UInt64, id: Int)] = []  // kept sorted by (deadline, id)
        var nextID = 0
        var now: UInt64 = 0
        for _ in 0..<(2_000 * stressFactor) {
            switch random.next() % 10 {
            case 0..<5:
                let deadline = now + random.next() % 50
                heap.insert(nextID, deadline: deadline)
                let index = model.firstIndex { $0.deadline > deadline } ?? model.count
                model.insert((deadline, nextID), at: index)
                nextID += 1
            case 5..<8:
                now += random.next() % 10
                while let id = heap.popDue(now: now) {
                    let expected = model.removeFirst()
                    #expect(id == expected.id)
                    #expect(expected.deadline <= now)
                }
                #expect(model.first.map { $0.deadline > now } ?? true)
            case 8:
                let removed = heap.removeAll { $0 % 3 == 0 }
                let before = model.count
                model.removeAll { $0.id % 3 == 0 }
                #expect(removed == before - model.count)
            default:
                #expect(heap.nextDeadline == model.first?.deadline)
            }
            #expect(heap.count == model.count)
        }
        #expect(heap.drain() == model.map(\.id))
        #expect(heap.isEmpty)
    }
}

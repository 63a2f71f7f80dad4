/// A binary min-heap of timers ordered by deadline, and among equal deadlines by insertion
/// order: a dispatcher's pending timers. Not thread-safe: its owner (the loop thread)
/// serialises access.
///
/// Invariant: every entry precedes neither of its children, so the first entry is the one
/// with the earliest (deadline, sequence).
package struct TimerHeap<Timer> {
    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var timer: Timer

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    /// An empty heap.
    package init() {}

    package var isEmpty: Bool { entries.isEmpty }
    package var count: Int { entries.count }
    /// The earliest deadline, or nil when the heap is empty.
    package var nextDeadline: UInt64? { entries.first?.deadline }

    /// Adds `timer`, due at `deadline` (monotonic nanoseconds). O(log n).
    package mutating func insert(_ timer: Timer, deadline: UInt64) {
        entries.append(Entry(deadline: deadline, sequence: nextSequence, timer: timer))
        nextSequence &+= 1
        siftUp(entries.count - 1)
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`. O(log n).
    package mutating func popDue(now: UInt64) -> Timer? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first.timer
    }

    /// Removes the timers matching `predicate`; returns how many were removed. O(n).
    package mutating func removeAll(where predicate: (Timer) -> Bool) -> Int {
        let before = entries.count
        entries.removeAll { predicate($0.timer) }
        for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        return before - entries.count
    }

    /// Removes every timer and returns them in the order they would have fired.
    package mutating func drain() -> [Timer] {
        defer { entries = [] }
        return entries.sorted { $0.precedes($1) }.map(\.timer)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var best = left
            if left + 1 < entries.count && entries[left + 1].precedes(entries[left]) { best = left + 1 }
            guard entries[best].precedes(entries[parent]) else { return }
            entries.swapAt(best, parent)
            parent = best
        }
    }
}

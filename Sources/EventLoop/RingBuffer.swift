/// A growable FIFO ring buffer with amortised O(1) append and pop and no per-element
/// allocation once it has grown to its working size. Not thread-safe: the owner
/// serialises access (the loop thread, or a lock).
package struct RingBuffer<Element>: ~Copyable {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity: Int  // a power of two
    private var head = 0
    package private(set) var count = 0

    package init(capacity: Int = 16) {
        var size = 1
        while size < max(capacity, 2) { size <<= 1 }
        self.capacity = size
        self.storage = .allocate(capacity: size)
    }

    deinit {
        let firstPart = min(count, capacity - head)
        (storage + head).deinitialize(count: firstPart)
        storage.deinitialize(count: count - firstPart)
        storage.deallocate()
    }

    package var isEmpty: Bool { count == 0 }

    package mutating func append(_ element: consuming Element) {
        if count == capacity { grow() }
        // Slots head ..< head+count (mod capacity) are initialised; the rest are not.
        (storage + ((head + count) & (capacity - 1))).initialize(to: element)
        count += 1
    }

    package mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = (storage + head).move()
        head = (head + 1) & (capacity - 1)
        count -= 1
        return element
    }

    package var first: Element? {
        count > 0 ? storage[head] : nil
    }

    package mutating func removeAll() {
        while popFirst() != nil {}
        head = 0
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        // Move the live run, which may wrap, to the start of the new buffer.
        let firstPart = min(count, capacity - head)
        (newStorage).moveInitialize(from: storage + head, count: firstPart)
        (newStorage + firstPart).moveInitialize(from: storage, count: count - firstPart)
        storage.deallocate()
        storage = newStorage
        capacity = newCapacity
        head = 0
    }
}

/// A growable FIFO ring buffer: amortised O(1) append and pop, no allocation once it has
/// grown to its working size. Not thread-safe: the owner serialises access (the loop
/// thread for a dispatcher's local queue, a channel's lock for its queues).
///
/// `@usableFromInline` and `@inlinable` so the channels' hot paths specialise across the
/// module boundary.
///
/// It has no `deinit`: the owner calls ``releaseStorage()`` exactly once. A `deinit` on a
/// `~Copyable` struct stored in inlinable code crashes the 6.3.1 optimizer in release
/// builds ("Should never be inlining a resilient function into a fragile function").
@usableFromInline
package struct RingBuffer<Element>: ~Copyable {
    // Invariant: slots head ..< head+count (mod capacity) are initialised, the others are
    // not; capacity (mask + 1) is a power of two.
    @usableFromInline var storage: UnsafeMutablePointer<Element>
    @usableFromInline var mask: Int
    @usableFromInline var head: Int
    @usableFromInline package internal(set) var count: Int

    @inlinable
    package init(minimumCapacity: Int) {
        var size = 2
        while size < minimumCapacity { size <<= 1 }
        storage = .allocate(capacity: size)
        mask = size - 1
        head = 0
        count = 0
    }

    /// Destroys the remaining elements and frees the buffer. The ring is unusable after it.
    @usableFromInline
    package mutating func releaseStorage() {
        let firstPart = min(count, mask + 1 - head)
        (storage + head).deinitialize(count: firstPart)
        storage.deinitialize(count: count - firstPart)
        storage.deallocate()
        count = 0
    }

    @inlinable
    package var isEmpty: Bool { count == 0 }

    @inlinable
    package var capacity: Int { mask + 1 }

    @inlinable
    package mutating func append(_ element: consuming Element) {
        if count > mask { grow() }
        // Sound: the slot after the live run is uninitialised (the invariant) and in bounds.
        (storage + ((head &+ count) & mask)).initialize(to: element)
        count &+= 1
    }

    /// The first element, not removed.
    @inlinable
    package var first: Element? {
        guard count > 0 else { return nil }
        // Sound: count > 0, so the head slot is initialised.
        return storage[head]
    }

    @inlinable
    package mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        // Sound: count > 0, so the head slot is initialised; moving out leaves it
        // uninitialised, and it leaves the live run as head advances.
        let element = (storage + head).move()
        head = (head &+ 1) & mask
        count &-= 1
        return element
    }

    /// Removes and returns the first element that matches, keeping the others in order.
    /// O(count); for the rare cancellation path.
    @inlinable
    package mutating func removeFirst(where matches: (borrowing Element) -> Bool) -> Element? {
        var offset = 0
        while offset < count {
            if matches(storage[(head &+ offset) & mask]) { break }
            offset &+= 1
        }
        guard offset < count else { return nil }
        let removed = (storage + ((head &+ offset) & mask)).move()
        // Close the gap by shifting the later elements one slot towards the head; each move
        // leaves its source uninitialised, which the next move fills.
        while offset < count &- 1 {
            let from = (head &+ offset &+ 1) & mask
            let to = (head &+ offset) & mask
            (storage + to).initialize(to: (storage + from).move())
            offset &+= 1
        }
        count &-= 1
        return removed
    }

    /// Removes every element, in order.
    @inlinable
    package mutating func removeAll() -> [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        while let element = popFirst() { all.append(element) }
        head = 0
        return all
    }

    @usableFromInline
    mutating func grow() {
        let newCapacity = (mask + 1) * 2
        let newStorage = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        // Move the live run, which may wrap, to the start of the new buffer.
        let firstPart = min(count, mask + 1 - head)
        newStorage.moveInitialize(from: storage + head, count: firstPart)
        (newStorage + firstPart).moveInitialize(from: storage, count: count - firstPart)
        storage.deallocate()
        storage = newStorage
        mask = newCapacity - 1
        head = 0
    }
}

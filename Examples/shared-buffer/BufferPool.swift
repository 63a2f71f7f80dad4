import AsyncChannels
import Synchronization

/// A fixed set of equally sized ``SharedBuffer``s, handed out as ``BufferLease``s and recycled.
///
/// The free list is an ``AsyncChannel`` of buffers: a lease dropped on any thread sends its
/// buffer back, and ``checkOut()`` on a producer thread blocks in `receiveSync()` while every
/// buffer is out. That bounds the memory in flight and throttles producers to the consumer.
final class BufferPool: Sendable {
    /// The size of every buffer in bytes.
    let bufferSize: Int
    /// How many buffers the pool owns.
    let capacity: Int
    private let free = AsyncChannel<SharedBuffer>()
    /// Buffers out of the pool now: leased or in flight. Relaxed: it is a statistic read
    /// after the threads that changed it have been joined or synchronised with.
    private let outstanding = Atomic<Int>(0)

    /// Allocates `capacity` buffers of `bufferSize` bytes.
    init(capacity: Int, bufferSize: Int) {
        precondition(capacity > 0 && bufferSize > 0, "a pool needs at least one non-empty buffer")
        self.capacity = capacity
        self.bufferSize = bufferSize
        // The free list keeps pooled buffers alive; leases and tickets keep the others.
        for _ in 0..<capacity { try! free.send(SharedBuffer(capacity: bufferSize, pool: self)) }
    }

    /// Leases a free buffer, blocking the calling thread until one is returned.
    ///
    /// For plain threads only: it blocks the whole thread.
    /// - Returns: a lease on an empty buffer (``BufferLease/count`` is 0).
    func checkOut() -> BufferLease {
        // The free list is never closed, so the receive cannot fail.
        let buffer = try! free.receiveSync()
        let pooled = buffer.state.load(ordering: .acquiring)
        precondition(pooled & 3 == SharedBuffer.Where.inPool.rawValue, "a buffer in the free list is not in the pool")
        let generation = pooled >> 2 + 1
        buffer.count = 0
        buffer.state.store(SharedBuffer.tag(generation, .leased), ordering: .relaxed)
        outstanding.add(1, ordering: .relaxed)
        return BufferLease(buffer: buffer, generation: generation)
    }

    /// Called by a dropped lease, whose buffer is already marked as in the pool.
    func giveBack(_ buffer: SharedBuffer) {
        outstanding.subtract(1, ordering: .relaxed)
        try! free.send(buffer)
    }

    /// How many buffers are leased or in flight now (a snapshot); 0 when all are back.
    var checkedOut: Int { outstanding.load(ordering: .relaxed) }

    /// How many buffers wait in the free list now (a snapshot); ``capacity`` when all are back.
    var available: Int { free.count }
}

import Synchronization

/// A block of memory owned by a ``BufferPool`` that travels between threads as a handle, never
/// as bytes: the seed's `sharedbuf`, with ownership made explicit and checked.
///
/// Nobody touches a `SharedBuffer` directly. Its owner holds a ``BufferLease`` (which cannot be
/// copied); to hand the buffer to another thread the owner consumes the lease into a
/// ``BufferTicket``, sends the ticket through a channel, and the receiver claims the ticket
/// for a new lease. The buffer's `state` records which lease or ticket is current, so a ticket
/// claimed twice, or a claim racing a stale owner, is caught at run time instead of becoming a
/// data race.
///
/// `@unchecked Sendable`: `storage` and `count` are read and written only by the holder of the
/// current lease (checked against `state`); every hand-over is an acquire/release on `state`
/// and goes through a channel, so each owner sees the previous owner's writes.
final class SharedBuffer: @unchecked Sendable {
    /// Where the buffer is, and which lease or ticket is current: a generation number times 4
    /// plus one of the `Where` tags. Every claim starts a new generation, so leases and tickets
    /// from earlier hand-overs never match again.
    let state = Atomic<UInt64>(Where.inPool.rawValue)
    /// The memory; allocated once, freed with the buffer. Current lease holder only.
    let storage: UnsafeMutableRawBufferPointer
    /// How many bytes at the start of `storage` hold the payload. Current lease holder only.
    var count = 0
    /// The pool this buffer returns to. Unowned, as the pool's free list holds its buffers:
    /// leases and tickets must not outlive their pool.
    unowned let pool: BufferPool

    enum Where: UInt64 {
        case inPool = 0
        case leased = 1
        case inFlight = 2
    }

    init(capacity: Int, pool: BufferPool) {
        storage = .allocate(byteCount: capacity, alignment: 64)
        self.pool = pool
    }

    deinit {
        storage.deallocate()
    }

    static func tag(_ generation: UInt64, _ place: Where) -> UInt64 {
        generation << 2 | place.rawValue
    }
}

/// The right to use a ``SharedBuffer``: exactly one exists per buffer out of the pool, and it
/// cannot be copied.
///
/// Dropping a lease returns its buffer to the pool; ``send()`` instead turns it into a
/// ``BufferTicket`` for another thread. Use it from one thread at a time.
struct BufferLease: ~Copyable {
    private let buffer: SharedBuffer
    private let generation: UInt64

    init(buffer: SharedBuffer, generation: UInt64) {
        self.buffer = buffer
        self.generation = generation
    }

    deinit {
        // After send() the state names the ticket (or a later lease): nothing to give back.
        let (returned, _) = buffer.state.compareExchange(
            expected: SharedBuffer.tag(generation, .leased), desired: SharedBuffer.tag(generation, .inPool),
            ordering: .releasing)
        if returned { buffer.pool.giveBack(buffer) }
    }

    /// The buffer's size in bytes.
    var capacity: Int { buffer.storage.count }

    /// How many bytes hold the payload; at most ``capacity``.
    var count: Int {
        get {
            checkOwnership()
            return buffer.count
        }
        nonmutating set {
            checkOwnership()
            precondition(newValue >= 0 && newValue <= capacity, "a payload of \(newValue) bytes does not fit")
            buffer.count = newValue
        }
    }

    /// Runs `body` with the whole buffer, to write a payload.
    func withUnsafeMutableBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) throws -> Result) rethrows -> Result {
        checkOwnership()
        return try body(buffer.storage)
    }

    /// Runs `body` with the payload (the first ``count`` bytes).
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        checkOwnership()
        return try body(UnsafeRawBufferPointer(rebasing: buffer.storage[0..<buffer.count]))
    }

    /// Gives up the buffer for a ticket that another thread can claim.
    /// - Returns: the only ticket that can claim the buffer now.
    consuming func send() -> BufferTicket {
        let (sent, found) = buffer.state.compareExchange(
            expected: SharedBuffer.tag(generation, .leased), desired: SharedBuffer.tag(generation, .inFlight),
            ordering: .releasing)
        precondition(sent, "a lease was sent while it did not own its buffer (state \(found))")
        return BufferTicket(buffer: buffer, generation: generation)
    }

    private func checkOwnership() {
        // Relaxed: the lease was obtained with an acquiring operation on this thread; this
        // only catches a lease whose buffer was taken away, which must never happen.
        let current = buffer.state.load(ordering: .relaxed)
        precondition(
            current == SharedBuffer.tag(generation, .leased), "buffer used without owning it (state \(current))")
    }
}

/// A buffer on its way from one owner to the next: small and `Sendable`, it is what goes
/// through the channel in place of the bytes.
///
/// Claim it exactly once. A ticket that is dropped unclaimed keeps its buffer out of the pool,
/// which ``BufferPool/checkedOut`` shows.
struct BufferTicket: Sendable {
    fileprivate let buffer: SharedBuffer
    fileprivate let generation: UInt64

    /// Takes ownership of the buffer.
    /// - Returns: the new owner's lease.
    /// - Precondition: the ticket has not been claimed before.
    func claim() -> BufferLease {
        guard let lease = tryClaim() else {
            preconditionFailure("a buffer ticket was claimed twice (or after its buffer was reused)")
        }
        return lease
    }

    /// Takes ownership of the buffer, or returns nil if the ticket was already claimed.
    func tryClaim() -> BufferLease? {
        let next = generation + 1
        // Acquiring: the claimer must see the payload the sender wrote before send().
        let (claimed, _) = buffer.state.compareExchange(
            expected: SharedBuffer.tag(generation, .inFlight), desired: SharedBuffer.tag(next, .leased),
            ordering: .acquiring)
        return claimed ? BufferLease(buffer: buffer, generation: next) : nil
    }
}

import AsyncChannels
import Glibc

/// A fixed-size block of memory that carries one chunk of a file from the reader to a hasher.
///
/// `@unchecked Sendable`: exactly one thread owns a buffer at a time. The pool hands it to the
/// reader, the reader sends it to a hasher, the hasher gives it back to the pool, and every
/// hand-over goes through an ``AsyncChannel``, whose lock orders the writes of the previous
/// owner before the reads of the next one.
final class ChunkBuffer: @unchecked Sendable {
    /// The whole block; its size is the pool's chunk size. Owned by this object.
    let storage: UnsafeMutableRawBufferPointer
    /// How many bytes at the start of `storage` hold data (owner only).
    var count = 0

    init(size: Int) {
        storage = .allocate(byteCount: size, alignment: 64)
    }

    deinit {
        storage.deallocate()
    }

    /// The bytes that hold data.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[0..<count])
    }
}

/// A fixed set of ``ChunkBuffer``s that are recycled, never freed while the pipeline runs: the
/// memory a pipeline uses is `capacity × chunkSize` however large its files are.
///
/// The free list is itself an ``AsyncChannel``: ``take()`` blocks the reader while every
/// buffer is out, which is the pipeline's backpressure, and ``giveBack(_:)`` from a hasher
/// wakes it.
final class ChunkPool: Sendable {
    /// The size of every buffer in bytes.
    let chunkSize: Int
    /// How many buffers the pool owns.
    let capacity: Int
    private let free = AsyncChannel<ChunkBuffer>()

    /// Allocates `capacity` buffers of `chunkSize` bytes.
    init(capacity: Int, chunkSize: Int) {
        precondition(capacity > 0 && chunkSize > 0, "a chunk pool needs at least one non-empty buffer")
        self.capacity = capacity
        self.chunkSize = chunkSize
        for _ in 0..<capacity {
            try! free.send(ChunkBuffer(size: chunkSize))
        }
    }

    /// Takes a free buffer, blocking the calling thread until one is given back.
    ///
    /// For plain threads only: it blocks the whole thread.
    func take() -> ChunkBuffer {
        // The free list is never closed, so the receive cannot fail.
        let buffer = try! free.receiveSync()
        buffer.count = 0
        return buffer
    }

    /// Returns a buffer taken with ``take()``; callable from any thread. The caller must not
    /// touch the buffer afterwards.
    func giveBack(_ buffer: ChunkBuffer) {
        try! free.send(buffer)
    }

    /// How many buffers are in the pool now (a snapshot); `capacity` when none is out.
    var available: Int { free.count }
}

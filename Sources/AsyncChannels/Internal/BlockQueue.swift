public import LoopUtilities
public import Synchronization

/// The element queue of ``AsyncChannel``: an unbounded, lock-free, multi-producer,
/// multi-consumer FIFO of linked blocks of slots, after crossbeam's list channel.
///
/// Every element gets a position from the tail index (a producer claims one with a CAS);
/// consumers claim positions from the head index the same way. Each block covers `lap`
/// positions: `blockCapacity` slots and one last position that is never a slot: a producer
/// that claims the last slot installs the next block and moves the tail past that position,
/// and a consumer that claims the last slot moves the head to the next block; others that
/// see the index on it wait a moment. A slot has two words, on different cache lines: its
/// write word, set by its producer alone once the element is written, and its read word,
/// which says that the element was read (`readBit`); the reader of a block's last slot
/// starts freeing the block, and `destroyBit` (in a read word) hands that job to readers
/// still busy in it. Write words are written only by producers and read words only by
/// consumers, so a consumer at its producer's heels never writes the line its producer
/// writes next, and a send publishes its element with a plain store, not a locked one.
///
/// Index words hold `position << shift`, with one flag bit (`markBit`): in the tail it
/// means closed (no position can be claimed any more: a linearizable close); in the head it
/// means the head's block is not the last one, so a consumer need not read the tail.
///
/// No thread touches a block before it has claimed a position in it, and a block is freed
/// only after each of its slots was read, so blocks can be reused: a freed block goes to a
/// one-block `spare` cache that the next block installation takes, and a steady stream
/// allocates nothing. Elements are moved out of their slot when received.
///
/// `@unchecked Sendable`: every field is an atomic; the slots' element memory is handed
/// between threads by the slot's write word (release on write, acquire on read).
@usableFromInline
final class BlockQueue<Element>: @unchecked Sendable {
    /// The next position a consumer claims, `<< shift`, with `markBit` when the head block
    /// is not the last one.
    @usableFromInline let headIndex = Atomic<Int>(0)
    /// The block that holds the head position. Written (release) before the head index moves
    /// into it, so a thread that reads the index (acquire) and then this sees the right block.
    @usableFromInline let headBlock: Atomic<UnsafeMutableRawPointer>
    // Producers and consumers write different lines: keep head and tail apart (two lines,
    // for the adjacent-line prefetcher).
    @usableFromInline let padding0: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    @usableFromInline let padding1: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// The next position a producer claims, `<< shift`, with `markBit` once closed.
    @usableFromInline let tailIndex = Atomic<Int>(0)
    /// The block that holds the tail position; same protocol as `headBlock`.
    @usableFromInline let tailBlock: Atomic<UnsafeMutableRawPointer>
    /// A freed block kept for the next installation, or nil.
    @usableFromInline let spare = Atomic<UnsafeMutableRawPointer?>(nil)
    @usableFromInline let padding2: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)

    @usableFromInline typealias Block = QueueBlock<Element>

    @inlinable static var shift: Int { 1 }
    @inlinable static var markBit: Int { 1 }
    @inlinable static var lap: Int { Block.capacity + 1 }

    @inlinable
    init() {
        // The first block exists from the start, so no path has to install it.
        let first = Block.allocate()
        headBlock = Atomic(first.raw)
        tailBlock = Atomic(first.raw)
    }

    deinit {
        // Exclusive access: release the elements still queued, then every block.
        var head = headIndex.load(ordering: .relaxed) & ~Self.markBit
        let tail = tailIndex.load(ordering: .relaxed) & ~Self.markBit
        var block = Block(headBlock.load(ordering: .relaxed))
        while head != tail {
            let offset = (head >> Self.shift) % Self.lap
            if offset < Block.capacity {
                // Sound: positions head ..< tail are written and unread (nobody else runs now).
                block.element(offset).deinitialize(count: 1)
            } else {
                // Sound: a block's last position is passed only once its successor is linked.
                let next = Block(block.next.pointee.load(ordering: .relaxed)!)
                block.deallocate()
                block = next
            }
            head &+= 1 << Self.shift
        }
        block.deallocate()
        if let raw = spare.load(ordering: .relaxed) { Block(raw).deallocate() }
    }

    // MARK: Pushing

    /// Appends `element`; returns it back when the queue is closed, nil when it was queued.
    /// Lock-free; any thread.
    @inlinable
    func push(_ element: consuming Element) -> Element? {
        // Acquire: pairs with the release that moved the tail into a new block, so the block
        // read next is that block (or the CAS below fails).
        var tail = tailIndex.load(ordering: .acquiring)
        var block = Block(tailBlock.load(ordering: .acquiring))
        var nextBlock: Block? = nil
        var backoff = Backoff()
        while true {
            if tail & Self.markBit != 0 {
                if let unused = nextBlock { recycle(unused) }
                return element
            }
            let offset = (tail >> Self.shift) % Self.lap
            if offset == Block.capacity {
                // Another producer is installing the next block.
                backoff.snooze()
                tail = tailIndex.load(ordering: .acquiring)
                block = Block(tailBlock.load(ordering: .acquiring))
                continue
            }
            // The producer of a block's last slot installs the next one: get it before the CAS
            // so the others wait as briefly as possible.
            if offset + 1 == Block.capacity && nextBlock == nil { nextBlock = takeBlock() }
            // Sequentially consistent: a send is "claim the position, then check for waiting
            // receivers"; a receiver that registers does "count itself, then look at the tail"
            // (a SC fence and a load in `pop`). SC makes at least one of them see the other.
            // Acquire on failure: the reloaded index is followed by a read of `tailBlock`.
            let (claimed, current) = tailIndex.weakCompareExchange(
                expected: tail,
                desired: tail &+ (1 << Self.shift),
                successOrdering: .sequentiallyConsistent,
                failureOrdering: .acquiring
            )
            if claimed {
                if offset + 1 == Block.capacity {
                    let next = nextBlock!
                    // Release: a thread that sees the index past the end sees this block.
                    tailBlock.store(next.raw, ordering: .releasing)
                    tailIndex.add(1 << Self.shift, ordering: .releasing)
                    // Release: the consumer that moves the head here reads the block's zeroed
                    // slot words after an acquire load of this pointer.
                    block.next.pointee.store(next.raw, ordering: .releasing)
                } else if let unused = nextBlock {
                    recycle(unused)
                }
                // Sound: this thread claimed position `offset` of `block`, and the block is not
                // freed before that slot is read, which waits for the write bit set below.
                block.element(offset).initialize(to: element)
                // Release: publishes the element to the reader, who acquires this word. A plain
                // store: nobody else writes a slot's write word (see `QueueBlock.written`).
                block.written(offset).pointee.store(QueueSlot.writeBit, ordering: .releasing)
                return nil
            }
            tail = current
            block = Block(tailBlock.load(ordering: .acquiring))
            // Contention: let the winner's cache line settle before the next attempt.
            backoff.spin()
        }
    }

    // MARK: Popping

    @usableFromInline
    enum PopResult {
        case element(Element)
        case empty
        /// Closed and drained.
        case closed
    }

    /// Removes the oldest element. Lock-free except for brief waits on a producer that has
    /// claimed a position and not yet written it; any thread.
    @inlinable
    func pop() -> PopResult {
        // Acquire: pairs with the release that moved the head into a new block.
        var head = headIndex.load(ordering: .acquiring)
        var block = Block(headBlock.load(ordering: .acquiring))
        var backoff = Backoff()
        while true {
            let offset = (head >> Self.shift) % Self.lap
            if offset == Block.capacity {
                // Another consumer is moving the head to the next block.
                backoff.snooze()
                head = headIndex.load(ordering: .acquiring)
                block = Block(headBlock.load(ordering: .acquiring))
                continue
            }
            var newHead = head &+ (1 << Self.shift)
            if newHead & Self.markBit == 0 {
                // SC fence: the receiver half of the pairing described in `push` (a waiting
                // receiver's SC increment, then this fence, then the tail load).
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                let tail = tailIndex.load(ordering: .relaxed)
                if head >> Self.shift == tail >> Self.shift {
                    return tail & Self.markBit != 0 ? .closed : .empty
                }
                // The tail is in a later block: until the head leaves this one, the queue
                // cannot be empty, so later pops skip the tail load.
                if (head >> Self.shift) / Self.lap != (tail >> Self.shift) / Self.lap {
                    newHead |= Self.markBit
                }
            }
            // Sequentially consistent like the tail CAS (crossbeam does the same); acquire on
            // failure because `headBlock` is read next.
            let (claimed, current) = headIndex.weakCompareExchange(
                expected: head,
                desired: newHead,
                successOrdering: .sequentiallyConsistent,
                failureOrdering: .acquiring
            )
            if claimed {
                if offset + 1 == Block.capacity {
                    // Sound: `block` is alive (our slot is unread); the producer of this last
                    // slot links the next block right after its claim.
                    let next = waitNext(block)
                    var nextIndex = (newHead & ~Self.markBit) &+ (1 << Self.shift)
                    if next.next.pointee.load(ordering: .relaxed) != nil { nextIndex |= Self.markBit }
                    // Release, block first: see `headBlock`.
                    headBlock.store(next.raw, ordering: .releasing)
                    headIndex.store(nextIndex, ordering: .releasing)
                }
                return .element(read(block, offset))
            }
            head = current
            block = Block(headBlock.load(ordering: .acquiring))
            backoff.spin()
        }
    }

    @usableFromInline
    enum BatchPopResult {
        /// This many elements (at least one) were appended.
        case taken(Int)
        case empty
        /// Closed and drained.
        case closed
    }

    /// Removes up to `maxCount` (at least 1) of the oldest elements and appends them to
    /// `buffer`, oldest first: a run of slots per block, each claimed with one head CAS after
    /// one look at the tail (none while the head's mark bit says the tail is in a later
    /// block). Stops at the tail it saw, so a consumer that has caught up with its producers
    /// pays what `pop` pays. Lock-free as `pop`; any thread. The elements are in `buffer`
    /// when it returns: none is held anywhere else, so a caller that is cancelled afterwards
    /// loses nothing.
    @inlinable
    func pop(upTo maxCount: Int, into buffer: inout [Element]) -> BatchPopResult {
        var taken = 0
        while taken < maxCount {
            switch popRun(upTo: maxCount - taken, into: &buffer) {
            case .taken(let count, let more):
                taken += count
                // A run that stopped at the tail it saw (or at `maxCount`) is the end: looking
                // at the tail again would cost a fence for little.
                if !more { return .taken(taken) }
            case .empty:
                return taken == 0 ? .empty : .taken(taken)
            case .closed:
                return taken == 0 ? .closed : .taken(taken)
            }
        }
        return .taken(taken)
    }

    @usableFromInline
    enum RunResult {
        /// This many elements (at least one) were appended; `more` when the run ended with
        /// its block's last slot (the next block may hold more).
        case taken(Int, more: Bool)
        case empty
        case closed
    }

    /// Claims up to `maxCount` consecutive positions of the head's block with one CAS, then
    /// moves their elements into `buffer`. The protocol is `pop`'s, for several positions: a
    /// run ends at the block's last slot (whose claimer moves the head to the next block) and
    /// at the tail position seen, so every claimed position was claimed by a producer before.
    @inlinable
    func popRun(upTo maxCount: Int, into buffer: inout [Element]) -> RunResult {
        // Acquire: pairs with the release that moved the head into a new block.
        var head = headIndex.load(ordering: .acquiring)
        var block = Block(headBlock.load(ordering: .acquiring))
        var backoff = Backoff()
        while true {
            let position = head >> Self.shift
            let offset = position % Self.lap
            if offset == Block.capacity {
                // Another consumer is moving the head to the next block.
                backoff.snooze()
                head = headIndex.load(ordering: .acquiring)
                block = Block(headBlock.load(ordering: .acquiring))
                continue
            }
            var count = min(maxCount, Block.capacity - offset)
            var mark = head & Self.markBit
            if mark == 0 {
                // SC fence: the receiver half of the pairing described in `push`, as in `pop`.
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                let tail = tailIndex.load(ordering: .relaxed)
                let seen = tail >> Self.shift
                if position == seen { return tail & Self.markBit != 0 ? .closed : .empty }
                if position / Self.lap != seen / Self.lap {
                    // The tail is in a later block: the whole rest of this one is claimed by
                    // producers, and later runs in it skip the tail load.
                    mark = Self.markBit
                } else {
                    // Positions below the tail are claimed by producers.
                    count = min(count, seen - position)
                }
            }
            // Sequentially consistent and acquire on failure, as `pop`'s head CAS.
            let (claimed, current) = headIndex.weakCompareExchange(
                expected: head,
                desired: ((position + count) << Self.shift) | mark,
                successOrdering: .sequentiallyConsistent,
                failureOrdering: .acquiring
            )
            if claimed {
                let reachedBlockEnd = offset + count == Block.capacity
                if reachedBlockEnd {
                    // Sound: `block` is alive (our slots are unread); the producer of its last
                    // slot links the next block right after its claim.
                    let next = waitNext(block)
                    var nextIndex = (position + count + 1) << Self.shift
                    if next.next.pointee.load(ordering: .relaxed) != nil { nextIndex |= Self.markBit }
                    // Release, block first: see `headBlock`.
                    headBlock.store(next.raw, ordering: .releasing)
                    headIndex.store(nextIndex, ordering: .releasing)
                }
                read(block, offset, count: count, into: &buffer)
                return .taken(count, more: reachedBlockEnd)
            }
            head = current
            block = Block(headBlock.load(ordering: .acquiring))
            backoff.spin()
        }
    }

    /// Moves the elements of the claimed slots `offset ..< offset + count` of `block` into
    /// `buffer`, in order, and does this reader's share of freeing the block.
    @inlinable
    func read(_ block: Block, _ offset: Int, count: Int, into buffer: inout [Element]) {
        buffer.reserveCapacity(buffer.count + count)
        let end = offset + count
        guard end == Block.capacity else {
            for index in offset..<end { buffer.append(read(block, index)) }
            return
        }
        // The run ends with the block's last slot, so this thread frees the block, once the
        // slots before the run are read. Until it hands that job on, nobody else writes or
        // reads the run's read words (only a destroyer looks at read bits or sets
        // `destroyBit`), so the run is not marked read slot by slot.
        for index in offset..<end {
            let written = block.written(index)
            var backoff = Backoff()
            // Acquire: pairs with the producer's release of the write word.
            while written.pointee.load(ordering: .acquiring) == 0 { backoff.snooze() }
            // Sound: this thread claimed the slot and the write bit says it is initialised.
            buffer.append(block.element(index).move())
        }
        destroy(block, afterRunFrom: offset)
    }

    /// Frees `block` for the reader of the run `start ..< capacity`, which it has read:
    /// once the slots before `start` are read, or by handing the job to the reader of the
    /// first one that is not (as `destroy` does). Only when it hands the job on does it mark
    /// the run read, for that reader's scan, which crosses it. A single consumer that reads
    /// whole blocks writes no read bit.
    @usableFromInline
    func destroy(_ block: Block, afterRunFrom start: Int) {
        for index in 0..<start {
            let state = block.read(index)
            // Acquire: a set read bit means the reader's move is visible to us.
            if state.pointee.load(ordering: .acquiring) & QueueSlot.readBit == 0 {
                // Plain stores: nobody else writes these words (see `read(_:_:count:into:)`);
                // the read-modify-write below releases them to the reader that continues.
                for run in start..<Block.capacity - 1 {
                    block.read(run).pointee.store(QueueSlot.readBit, ordering: .relaxed)
                }
                // Acquire-release, as in `destroy(_:from:)`: hand the job over, or find the
                // slot read meanwhile and go on.
                if state.pointee.bitwiseOr(QueueSlot.destroyBit, ordering: .acquiringAndReleasing).oldValue
                    & QueueSlot.readBit == 0
                {
                    return
                }
                destroy(block, from: index + 1)
                return
            }
        }
        recycle(block)
    }

    /// Whether the queue looks empty: a racy hint for spin loops, never for decisions.
    @inlinable
    var looksEmpty: Bool {
        // Relaxed: only a hint; `pop` re-checks with the proper orderings.
        (headIndex.load(ordering: .relaxed) >> Self.shift) == (tailIndex.load(ordering: .relaxed) >> Self.shift)
    }

    /// Whether the queue looks shorter than `count` elements: a racy hint for spin loops,
    /// never for decisions. A block's last position is not a slot, so a queue that spans
    /// blocks may look one element longer per block boundary.
    @inlinable
    func looksShorter(than count: Int) -> Bool {
        // Relaxed: only a hint; `pop` re-checks with the proper orderings.
        let head = headIndex.load(ordering: .relaxed) >> Self.shift
        let tail = tailIndex.load(ordering: .relaxed) >> Self.shift
        return tail &- head < count
    }

    /// Moves the element out of a claimed slot, then does this reader's share of freeing.
    @inlinable
    func read(_ block: Block, _ offset: Int) -> Element {
        let written = block.written(offset)
        var backoff = Backoff()
        // Acquire: pairs with the producer's release of the write word (the element is there).
        while written.pointee.load(ordering: .acquiring) == 0 { backoff.snooze() }
        // Sound: this thread claimed the slot and the write word says it is initialised.
        let element = block.element(offset).move()
        if offset + 1 == Block.capacity {
            destroy(block, from: 0)
        } else if block.read(offset).pointee.bitwiseOr(QueueSlot.readBit, ordering: .acquiringAndReleasing).oldValue
            & QueueSlot.destroyBit != 0
        {
            // Acquire-release: release our move out of the slot to whoever frees the block;
            // acquire the destroyer's progress when it handed the job to us.
            destroy(block, from: offset + 1)
        }
        return element
    }

    /// Frees `block` once every slot from `start` on has been read; a slot still being read
    /// gets `destroyBit` and its reader continues.
    @usableFromInline
    func destroy(_ block: Block, from start: Int) {
        // The last slot's reader started this, so it needs no bit.
        var index = start
        while index < Block.capacity - 1 {
            let state = block.read(index)
            // Acquire: a set read bit means the reader's move is visible to us.
            if state.pointee.load(ordering: .acquiring) & QueueSlot.readBit == 0
                && state.pointee.bitwiseOr(QueueSlot.destroyBit, ordering: .acquiringAndReleasing).oldValue
                    & QueueSlot.readBit == 0
            {
                return
            }
            index += 1
        }
        recycle(block)
    }

    /// Spins until `block`'s successor is linked.
    @inlinable
    func waitNext(_ block: Block) -> Block {
        var backoff = Backoff()
        while true {
            // Acquire: pairs with the installer's release of `next`.
            if let raw = block.next.pointee.load(ordering: .acquiring) { return Block(raw) }
            backoff.snooze()
        }
    }

    // MARK: Closing and counting

    /// Marks the tail closed; returns false when it already was. Any thread.
    @inlinable
    func close() -> Bool {
        // Sequentially consistent: ordered with every producer's claiming CAS, so each send
        // either claimed its position before this (its element stays receivable) or fails.
        tailIndex.bitwiseOr(Self.markBit, ordering: .sequentiallyConsistent).oldValue & Self.markBit == 0
    }

    @inlinable
    var isClosed: Bool {
        // Acquire: a caller that sees the channel closed sees what preceded the close.
        tailIndex.load(ordering: .acquiring) & Self.markBit != 0
    }

    /// The number of queued elements (claimed positions not yet claimed by a consumer). A
    /// snapshot.
    @inlinable
    var count: Int {
        while true {
            // Sequentially consistent: a consistent pair (the tail did not move meanwhile).
            let tail = tailIndex.load(ordering: .sequentiallyConsistent)
            let head = headIndex.load(ordering: .sequentiallyConsistent)
            if tailIndex.load(ordering: .sequentiallyConsistent) == tail {
                return Self.ordinal(tail) - Self.ordinal(head)
            }
        }
    }

    /// How many slots come before the position in `index` (a block's last position counts
    /// as the next block's first slot).
    @inlinable
    static func ordinal(_ index: Int) -> Int {
        let position = index >> shift
        return (position / lap) * Block.capacity + min(position % lap, Block.capacity)
    }

    /// Element slots the queue owns now: linked blocks plus the spare. For tests; call only
    /// while nothing else uses the queue.
    @usableFromInline
    var ownedSlots: Int {
        var blocks = spare.load(ordering: .acquiring) == nil ? 0 : 1
        var block: UnsafeMutableRawPointer? = headBlock.load(ordering: .acquiring)
        while let raw = block {
            blocks += 1
            block = Block(raw).next.pointee.load(ordering: .acquiring)
        }
        return blocks * Block.capacity
    }

    // MARK: Blocks

    /// A zeroed block: the spare or a new one.
    @inlinable
    func takeBlock() -> Block {
        // Acquire: pairs with the release in `recycle`, so the reset slot words are seen.
        if let raw = spare.exchange(nil, ordering: .acquiring) { return Block(raw) }
        return Block.allocate()
    }

    /// Resets a block nobody uses any more and keeps it as the spare, or frees it. The
    /// reset is the freeing consumer's, not the next producer's: done before the producer's
    /// claim of a block's last slot, it would widen the window other producers wait in.
    @usableFromInline
    func recycle(_ block: Block) {
        block.reset()
        // Release: the reset (and the readers' moves we acquired) happen before a reuse.
        if !spare.compareExchange(expected: nil, desired: block.raw, ordering: .releasing).exchanged {
            block.deallocate()
        }
    }
}

/// The values of a slot's two words.
@usableFromInline
enum QueueSlot {
    /// The write word's value once the element is written (0 before).
    @inlinable static var writeBit: Int { 1 }
    /// In the read word: the element has been moved out.
    @inlinable static var readBit: Int { 2 }
    /// In the read word: the block's destroyer found the slot busy; its reader frees the block.
    @inlinable static var destroyBit: Int { 4 }
}

/// One block of ``BlockQueue``, in one allocation aligned to a cache line: the `next`
/// pointer and `capacity` write words, then, from the next cache line on, `capacity` read
/// words, then `capacity` element slots (uninitialised unless written and unread).
@usableFromInline
struct QueueBlock<Element> {
    @usableFromInline let raw: UnsafeMutableRawPointer

    @inlinable
    init(_ raw: UnsafeMutableRawPointer) { self.raw = raw }

    /// Slots per block.
    @inlinable static var capacity: Int { 32 }

    /// A cache line's size on the machines the package targets (x86-64 and Arm64 servers).
    @inlinable static var lineSize: Int { 64 }

    @inlinable static var writtenOffset: Int { MemoryLayout<Atomic<UnsafeMutableRawPointer?>>.stride }

    /// The read words start on a line of their own, apart from the producers' write words.
    @inlinable static var readOffset: Int {
        let end = writtenOffset + capacity * MemoryLayout<Atomic<Int>>.stride
        return (end + lineSize - 1) / lineSize * lineSize
    }

    @inlinable static var elementsOffset: Int {
        let end = readOffset + capacity * MemoryLayout<Atomic<Int>>.stride
        let alignment = MemoryLayout<Element>.alignment
        return (end + alignment - 1) / alignment * alignment
    }

    @inlinable static var alignment: Int { max(lineSize, MemoryLayout<Element>.alignment) }

    @usableFromInline
    static func allocate() -> QueueBlock {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: elementsOffset + capacity * MemoryLayout<Element>.stride,
            alignment: alignment
        )
        // Sound: each region is bound once, to one type, and initialised before any use.
        raw.bindMemory(to: Atomic<UnsafeMutableRawPointer?>.self, capacity: 1).initialize(to: Atomic(nil))
        let written = (raw + writtenOffset).bindMemory(to: Atomic<Int>.self, capacity: capacity)
        for index in 0..<capacity { (written + index).initialize(to: Atomic(0)) }
        let read = (raw + readOffset).bindMemory(to: Atomic<Int>.self, capacity: capacity)
        for index in 0..<capacity { (read + index).initialize(to: Atomic(0)) }
        (raw + elementsOffset).bindMemory(to: Element.self, capacity: capacity)
        return QueueBlock(raw)
    }

    /// The link to the next block; nil until it is installed.
    @inlinable
    var next: UnsafeMutablePointer<Atomic<UnsafeMutableRawPointer?>> {
        // Sound: bound and initialised in `allocate`.
        raw.assumingMemoryBound(to: Atomic<UnsafeMutableRawPointer?>.self)
    }

    /// The write word of slot `offset`: 0, then `QueueSlot.writeBit` once its producer has
    /// written the element. Written by that producer alone (and by `reset`).
    @inlinable
    func written(_ offset: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        // Sound: offset < capacity; bound and initialised in `allocate`.
        (raw + Self.writtenOffset).assumingMemoryBound(to: Atomic<Int>.self) + offset
    }

    /// The read word of slot `offset`: `readBit` and `destroyBit`, written by consumers only.
    @inlinable
    func read(_ offset: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        // Sound: offset < capacity; bound and initialised in `allocate`.
        (raw + Self.readOffset).assumingMemoryBound(to: Atomic<Int>.self) + offset
    }

    @inlinable
    func element(_ offset: Int) -> UnsafeMutablePointer<Element> {
        // Sound: offset < capacity; bound in `allocate`; initialised only between a write
        // and a read, which the slot's two words track.
        (raw + Self.elementsOffset).assumingMemoryBound(to: Element.self) + offset
    }

    /// Makes a freed block fresh. Only its last user calls it (no slot holds an element).
    @usableFromInline
    func reset() {
        // Relaxed: the block is exclusively ours; `recycle` publishes it with a release.
        next.pointee.store(nil, ordering: .relaxed)
        for index in 0..<Self.capacity {
            written(index).pointee.store(0, ordering: .relaxed)
            read(index).pointee.store(0, ordering: .relaxed)
        }
    }

    /// Frees the memory. No slot may hold an element.
    @usableFromInline
    func deallocate() {
        raw.deallocate()
    }
}

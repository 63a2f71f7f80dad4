// The channels' uses of the event loop: no spin on a loop thread that has other ready work
// (`Dispatcher.currentLoopHasReadyWork`, in `popSpinning`), the idle policy of a blocking
// wait (`IdleWait.forBlockingWait`, here and in the bounded storage), no blocking call that would park
// a thread running a loop (`Dispatcher.currentThreadRunsALoop`, in `callerRunsALoop()`,
// which the bounded channel's blocking calls use too), and the timers of waits with a
// timeout (`Dispatcher.scheduleTimeout`, here and in `BoundedChannelStorage.swift`).
public import EventLoop
public import LoopUtilities
public import Synchronization

/// Whether the calling thread runs a dispatcher's loop now, where `receiveSync` and
/// `sendSync` must not park it (they throw ``ChannelError/wouldBlockLoop`` instead). Costs a
/// thread-local load; called only on the blocking calls' slow paths, right before they park.
func callerRunsALoop() -> Bool {
    Dispatcher.currentThreadRunsALoop
}

/// The receivers waiting on an unbounded channel, behind the channel's lock (the slow path
/// only: elements live in the lock-free ``BlockQueue``).
///
/// Invariant: a receiver is registered only after it counted itself in the storage's
/// `waitingReceivers` and then found the queue empty, all under the lock; it is removed (and
/// uncounted) under the lock by exactly one of a send's hand-off, a close, or its own
/// cancellation.
@usableFromInline
struct UnboundedWaiters<Element: Sendable>: ~Copyable {
    @usableFromInline var receivers: RingBuffer<(id: UInt64, token: ReceiveWaiter<Element>)>

    @inlinable
    init() {
        receivers = RingBuffer(minimumCapacity: 2)
    }
}

/// The core of ``AsyncChannel``: a lock-free queue for the elements, and a lock for the
/// waiting receivers only.
///
/// A send claims a slot and writes its element without a lock, then reads
/// `waitingReceivers`; only when a receiver waits does it take the lock and hand queued
/// elements to waiting receivers (resumed after the lock is released). A receive pops
/// without a lock, spins briefly when the queue is empty, and only then takes the lock,
/// counts itself in `waitingReceivers`, looks at the queue once more and registers. Those
/// two orders ("write, then check" and "count, then check") are sequentially consistent,
/// so a send and a registering receiver cannot both miss each other: no wake-up is lost.
///
/// A waiting task registers without looking at cancellation; after the lock is released
/// (still inside the continuation's closure) it reads `Task.isCancelled` once and, when it
/// is set, runs the same removal as its cancellation handler, ``cancelReceive(id:)``. A
/// handler that ran before the registration set the flag before it took the lock, so the
/// read after the registration sees it; a handler that runs later finds the entry; a
/// removal that finds nothing (the other one, a hand-off or a close came first) does nothing.
@usableFromInline
final class UnboundedChannelStorage<Element: Sendable>: Sendable {
    /// The elements. Lock-free; its own `ownedSlots` tells tests how much storage it holds.
    @usableFromInline
    let queue: BlockQueue<Element>

    /// Receivers counted in or registered with `state`: the send path's "anyone waiting?"
    /// check. Increments are sequentially consistent (see the type's comment); decrements
    /// are relaxed, because a stale non-zero value only costs a producer a needless look
    /// under the lock, and a receiver's own increment stays counted until it is removed.
    @usableFromInline
    let waitingReceivers = Atomic<Int>(0)

    /// Ids for waiting receivers, so that a cancelled wait finds its own entry. Relaxed:
    /// only uniqueness matters.
    @usableFromInline
    let lastID = Atomic<UInt64>(0)

    /// The waiting receivers, and the lock that orders their registration against
    /// hand-offs, closes and cancellations. It protects only the receivers' ring.
    @usableFromInline
    let state: LockedValue<UnboundedWaiters<Element>>

    @inlinable
    init() {
        queue = BlockQueue()
        state = LockedValue(UnboundedWaiters())
    }

    deinit {
        // Waiters cannot exist now (each holds a reference to the storage); the queue frees
        // the elements it still holds when it goes.
        state.withLock { $0.receivers.releaseStorage() }
    }

    @inlinable
    var count: Int { queue.count }

    @inlinable
    var isClosed: Bool { queue.isClosed }

    // MARK: Sending

    /// Sends without waiting; throws `.closed` with the element.
    @inlinable
    func send(_ element: Element) throws(ChannelSendError<Element>) {
        if let rejected = queue.push(element) {
            throw ChannelSendError(element: rejected, reason: .closed)
        }
        // Sequentially consistent: the producer half of the pairing (the claim in `push` is
        // an SC CAS; this load comes after it). On x86 it is a plain load.
        if waitingReceivers.load(ordering: .sequentiallyConsistent) != 0 {
            handOffToWaiters()
        }
    }

    /// Gives queued elements to waiting receivers, one pair at a time, until either runs
    /// out. Any thread; resumes outside the lock. Inlinable so that it is specialized:
    /// unspecialized, the optional pair's tuple metadata is looked up on every call.
    @inlinable
    func handOffToWaiters() {
        while true {
            let pair = state.withLock { waiters -> (ReceiveWaiter<Element>, Element)? in
                guard case .pair(let receiver, let element) = takeReceiverAndElement(&waiters) else { return nil }
                return (receiver, element)
            }
            guard let (receiver, element) = pair else { return }
            // Pairs with the acquire after the receiver's wait (see `receiveWaiting`).
            tsanRelease(self)
            receiver.resume(returning: element)
        }
    }

    @usableFromInline
    enum TakeOutcome {
        /// This receiver (claimed, for a select's entry) gets this element.
        case pair(ReceiveWaiter<Element>, Element)
        /// No live receiver waits.
        case noReceiver
        /// A receiver waits but the queue is empty, or closed and drained (`closed`).
        case noElement(closed: Bool)
    }

    /// Under the lock: pops the longest-waiting live receiver together with an element.
    /// Entries of selects that have ended are dropped on the way. A select's entry is
    /// claimed before the pop (a receive that needs no lock may take the element first:
    /// then the claim is given back and the entry stays).
    @inlinable
    @inline(__always)
    func takeReceiverAndElement(_ waiters: inout UnboundedWaiters<Element>) -> TakeOutcome {
        while let first = waiters.receivers.first {
            guard first.token.claimForCompletion() else {
                _ = waiters.receivers.popFirst()
                // Relaxed: see `waitingReceivers`.
                waitingReceivers.subtract(1, ordering: .relaxed)
                continue
            }
            switch queue.pop() {
            case .element(let element):
                _ = waiters.receivers.popFirst()
                // Relaxed: see `waitingReceivers`.
                waitingReceivers.subtract(1, ordering: .relaxed)
                return .pair(first.token, element)
            case .closed, .empty:
                first.token.selectWaiter?.abandonClaim()
                return .noElement(closed: queue.isClosed)
            }
        }
        return .noReceiver
    }

    // MARK: Receiving

    /// Receives without waiting: nil when empty (or closed and drained).
    @inlinable
    func tryReceive() -> Element? {
        if case .element(let element) = queue.pop() { return element }
        return nil
    }

    /// Takes up to `maxCount` (at least 1) queued elements without waiting or locking and
    /// appends them to `buffer`, oldest first: one head claim per block (see
    /// ``BlockQueue/pop(upTo:into:)``). How many; 0 when empty and open.
    /// - Throws: `.closed` once closed and drained.
    @inlinable
    func receiveAvailable(upTo maxCount: Int, into buffer: inout [Element]) throws(ChannelError) -> Int {
        switch queue.pop(upTo: maxCount, into: &buffer) {
        case .taken(let count): return count
        case .empty: return 0
        case .closed: throw .closed
        }
    }

    /// The queue length a batch receive waits a moment for (see
    /// ``receiveAvailable(upTo:into:spinning:)``).
    @inlinable
    static var batchWorthWaitingFor: Int { 16 }

    /// The batch receives' look before they wait: takes what is queued, as
    /// ``receiveAvailable(upTo:into:)``, once at least ``batchWorthWaitingFor`` elements (or
    /// `maxCount`) are queued; with fewer, it first spins as `spin` allows, looking at the
    /// queue once every `Backoff.limit` pauses (about 1.5 µs), and takes what is there after
    /// the first such interval, or as soon as anything is after that. 0: still empty when the
    /// spin ended.
    ///
    /// Why it lingers: a look reads the producers' tail index, and a take reads the slots
    /// they are writing. A consumer that has caught up with a producer and takes each element
    /// as it lands pulls those cache lines away from the producer on every send, which then
    /// pays a cross-core transfer per element; one that waits a moment takes whole lines the
    /// producer is done with.
    @inlinable
    func receiveAvailable(
        upTo maxCount: Int, into buffer: inout [Element], spinning spin: IdleWait
    ) throws(ChannelError) -> Int {
        var spin = spin
        var enough = min(maxCount, Self.batchWorthWaitingFor)
        var spun = false
        while queue.looksShorter(than: enough) && !queue.isClosed {
            for _ in 0..<Backoff.limit {
                // Out of budget: take what is there (the miss is recorded).
                guard spin.pause() else { return try receiveAvailable(upTo: maxCount, into: &buffer) }
            }
            spun = true
            // Lingered once: any element will do now.
            enough = 1
        }
        if spun { spin.ended() }
        return try receiveAvailable(upTo: maxCount, into: &buffer)
    }

    /// After a pop found the queue empty: spins while it stays empty and open, as `spin`
    /// allows, and pops again at each sign of an element. Nil: still empty.
    ///
    /// A task's receive spins briefly (the default); a blocking receive passes the calling
    /// thread's idle spin (`IdleWait.forBlockingWait`). No spin on a loop thread that has
    /// other ready work: the element may come from one of those jobs (two tasks on one
    /// loop), and a loop must not stall its other tasks. Callers pop once before, so that a
    /// ready element costs no spin to set up, and an empty queue with no spin granted costs
    /// one pop, not two.
    @inlinable
    func popSpinning(
        _ spin: IdleWait = Dispatcher.currentLoopHasReadyWork ? .none : .brief
    ) throws(ChannelError) -> Element? {
        var spin = spin
        // Each check of the spin is a relaxed load of two indices and a CPU pause.
        while true {
            // Wait for a sign of an element before paying for another pop.
            guard spin.spin(while: { queue.looksEmpty && !queue.isClosed }) else { return nil }
            switch queue.pop() {
            case .element(let element): return element
            case .closed: throw .closed
            case .empty: break
            }
        }
    }

    @usableFromInline
    enum RegisterAction {
        case element(Element)
        case closed
        /// The receiver now waits; its token is resumed later by a send, close or cancel.
        case suspended
    }

    /// Under the lock: counts the receiver, checks the queue once more, and registers
    /// `token` when it is still empty and open. Always inlined, lock body included, into the
    /// continuation's closure of ``receiveWaiting()`` and into ``receiveSyncSlow()``.
    @inlinable
    @inline(__always)
    func register(id: UInt64, token: ReceiveWaiter<Element>) -> RegisterAction {
        state.withLock { waiters in
            // Sequentially consistent: the receiver half of the pairing; `pop` follows it with
            // an SC fence and a load of the tail.
            waitingReceivers.add(1, ordering: .sequentiallyConsistent)
            let action: RegisterAction
            switch queue.pop() {
            case .element(let element): action = .element(element)
            case .closed: action = .closed
            case .empty:
                waiters.receivers.append((id, token))
                return .suspended
            }
            // Relaxed: see `waitingReceivers`.
            waitingReceivers.subtract(1, ordering: .relaxed)
            return action
        }
    }

    /// Receives without suspending: no lock when an element is ready or comes soon; see
    /// ``popSpinning()``.
    @inlinable
    func receiveWithoutWaiting() throws(ChannelError) -> Element? {
        if let element = try popNow() { return element }
        return try popSpinning()
    }

    /// One pop, with no spin to set up: the element, or nil when the queue is empty.
    /// - Throws: ``ChannelError/closed`` once the channel is closed and drained.
    @inlinable
    func popNow() throws(ChannelError) -> Element? {
        switch queue.pop() {
        case .element(let element): return element
        case .closed: throw .closed
        case .empty: return nil
        }
    }

    /// The waiting half of `receive()`: registers, suspends until a send, a close or a
    /// cancellation, and takes the element under the lock. Call after ``popSpinning()``
    /// found nothing.
    ///
    /// Always inlined into `receive()` and the iterator: as an async frame of its own between
    /// them and the continuation, its return costs one more executor hop per wait
    /// (`swift_task_switch`, which takes the task's status-record lock when the task has an
    /// executor preference): 3 hops per suspended receive instead of 2.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receiveWaiting() async throws -> Element {
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        let element = try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element, any Error>) in
                switch register(id: id, token: .task(continuation)) {
                case .suspended:
                    // The one read of the flag, after the registration: see the type's comment.
                    if Task.isCancelled { cancelReceive(id: id) }
                case .element(let element):
                    continuation.resume(returning: element)
                case .closed:
                    continuation.resume(throwing: ChannelError.closed)
                }
            }
        } onCancel: {
            cancelReceive(id: id)
        }
        // The element was popped under `state`'s lock by whoever resumed us. A resume that
        // comes before the registering closure has returned lets this task continue on the
        // registering thread, ordered only by the runtime's own (uninstrumented) atomic. The
        // resumer's release on this storage, paired with this acquire, shows ThreadSanitizer
        // that order; outside TSan both are calls to empty functions (no lock, no atomic).
        tsanAcquire(self)
        return element
    }

    /// Removes a waiting receiver and resumes it with `CancellationError`; does nothing when
    /// a hand-off, a close or the other cancellation check already removed it (a receiver
    /// that was handed an element keeps it, so cancelling loses nothing). Any thread; takes
    /// the lock, resumes outside it.
    @usableFromInline
    func cancelReceive(id: UInt64) {
        removeReceiver(id: id)?.resumeCancelled()
    }

    /// Removes the waiting receiver `id` if it is still registered; nil when a hand-off, a
    /// close, its cancellation or its timeout removed it first. Any thread; takes the lock.
    @usableFromInline
    func removeReceiver(id: UInt64) -> ReceiveWaiter<Element>? {
        state.withLock { waiters -> ReceiveWaiter<Element>? in
            guard let entry = waiters.receivers.removeFirst(where: { $0.id == id }) else { return nil }
            // Relaxed: see `waitingReceivers`.
            waitingReceivers.subtract(1, ordering: .relaxed)
            return entry.token
        }
    }

    // MARK: Receiving with a deadline

    /// `receive(timeout:)` and `receive(deadline:)`: as `receive()`, and a timer armed after
    /// the registration removes the receiver at `deadline` (monotonic nanoseconds) and
    /// resumes it with `.timedOut`. The timer is cancelled as soon as the wait ends another
    /// way, so a satisfied wait leaves none armed. A ready element is taken before any timer
    /// or lock.
    @inlinable
    nonisolated(nonsending) func receive(within limit: WaitLimit) async throws -> Element {
        // One pop before the clock is read: a ready element costs what `receive()` costs.
        if let element = try popNow() { return element }
        let deadline = limit.monotonicDeadline
        if let element = try popSpinning() { return element }
        return try await receiveWaiting(deadline: deadline)
    }

    @usableFromInline
    nonisolated(nonsending) func receiveWaiting(deadline: UInt64) async throws -> Element {
        guard monotonicNanoseconds() < deadline else {
            // One more look, without registering: the deadline has passed.
            if let element = try receiveWithoutWaiting() { return element }
            throw ChannelError.timedOut
        }
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        // Before the registration, so that a timeout thread that cannot start takes nothing.
        let timeouts = try Dispatcher.timeoutDispatcher()
        var timer: Scheduled? = nil
        defer { timer?.cancel() }
        let element = try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element, any Error>) in
                switch register(id: id, token: .task(continuation)) {
                case .suspended:
                    // The one read of the flag, after the registration: see the type's comment.
                    if Task.isCancelled {
                        cancelReceive(id: id)
                        return
                    }
                    // Armed after the registration, so that a timer that fires at once finds
                    // the entry; one that fires after a hand-off finds nothing and does nothing.
                    timer = timeouts.scheduleTimeout(deadline: deadline) { [self] in
                        removeReceiver(id: id)?.resumeTimedOut()
                    }
                case .element(let element):
                    continuation.resume(returning: element)
                case .closed:
                    continuation.resume(throwing: ChannelError.closed)
                }
            }
        } onCancel: {
            cancelReceive(id: id)
        }
        tsanAcquire(self)
        return element
    }

    /// `receiveSync(timeout:)`: as `receiveSync()`, giving up at `deadline` (monotonic
    /// nanoseconds) with `.timedOut`.
    @inlinable
    func receiveSync(within limit: WaitLimit) throws(ChannelError) -> Element {
        if let element = try popNow() { return element }
        let deadline = limit.monotonicDeadline
        if let element = try popSpinning(.forBlockingWait(limit: deadline)) { return element }
        return try receiveSyncSlow(deadline: deadline)
    }

    /// The blocking half of the receives, after the spin found nothing: parks until an
    /// element, a close or `deadline` (monotonic nanoseconds; `UInt64.max` is none).
    @usableFromInline
    func receiveSyncSlow(deadline: UInt64) throws(ChannelError) -> Element {
        guard !callerRunsALoop(), monotonicNanoseconds() < deadline else {
            switch queue.pop() {
            case .element(let element): return element
            case .closed: throw .closed
            case .empty: throw callerRunsALoop() ? .wouldBlockLoop : .timedOut
            }
        }
        let thread = BlockedThread<Result<Element, ChannelError>>()
        // Relaxed: only uniqueness matters.
        let id = lastID.add(1, ordering: .relaxed).newValue
        switch register(id: id, token: .thread(thread)) {
        case .suspended:
            if let outcome = thread.wait(deadline: deadline) { return try outcome.get() }
            // The deadline passed. Still registered: nobody will deliver, so we are done.
            if removeReceiver(id: id) != nil { throw .timedOut }
            // A hand-off or a close removed the entry first: its delivery is on the way.
            return try thread.wait().get()
        case .element(let element):
            return element
        case .closed:
            throw .closed
        }
    }

    /// Receives, blocking the calling thread while the channel is empty and open; throws
    /// `.wouldBlockLoop` instead of blocking a thread that runs a loop.
    @inlinable
    func receiveSync() throws(ChannelError) -> Element {
        // A ready element first, before the idle policy's clock read.
        if let element = try popNow() { return element }
        if let element = try popSpinning(.forBlockingWait()) { return element }
        return try receiveSyncSlow()
    }

    /// The blocking half of ``receiveSync()``, after ``popSpinning()`` found nothing. The
    /// loop-thread check lives here, off the inlined fast path.
    @usableFromInline
    func receiveSyncSlow() throws(ChannelError) -> Element {
        // No deadline: the timed wait never gives up.
        try receiveSyncSlow(deadline: .max)
    }

    // MARK: Closing

    /// Closes the channel: marks the queue closed (sends fail from here on), hands what is
    /// still queued to waiting receivers, and fails the rest of them. Idempotent.
    @inlinable
    func close() {
        guard queue.close() else { return }
        closeWaiters()
    }

    @usableFromInline
    func closeWaiters() {
        var failed: [ReceiveWaiter<Element>] = []
        while true {
            let pair = state.withLock { waiters -> (ReceiveWaiter<Element>, Element)? in
                switch takeReceiverAndElement(&waiters) {
                case .pair(let receiver, let element):
                    return (receiver, element)
                case .noReceiver:
                    return nil
                case .noElement:
                    // The tail is marked, so the queue is drained for good: nobody will
                    // ever have an element for these receivers.
                    failed = waiters.receivers.removeAll().map(\.token)
                    waitingReceivers.subtract(failed.count, ordering: .relaxed)
                    return nil
                }
            }
            guard let (receiver, element) = pair else { break }
            tsanRelease(self)
            receiver.resume(returning: element)
        }
        for receiver in failed { receiver.resumeClosed() }
    }

    // MARK: Selects

    /// A select's receive case polls: the element, `.some(nil)` when closed and drained,
    /// nil when it would wait.
    @inlinable
    func pollSelectReceive() -> Element?? {
        switch queue.pop() {
        case .element(let element): return .some(element)
        case .closed: return .some(nil)
        case .empty: return nil
        }
    }

    /// A select's receive case registers as case `index` of `waiter`: under the lock it
    /// counts itself as a waiting receiver, then claims the select and pops; an element or
    /// the closure completes the case now, an empty queue gives the claim back and queues
    /// the entry (the same "count, then check" order as a plain receive, so no send is
    /// missed).
    @usableFromInline
    func registerSelectReceive(_ waiter: _SelectWaiter, case index: Int) {
        let completed = state.withLock { waiters -> Bool in
            // Sequentially consistent: the receiver half of the pairing, as in `register`.
            waitingReceivers.add(1, ordering: .sequentiallyConsistent)
            guard waiter.beginClaim() else {
                waitingReceivers.subtract(1, ordering: .relaxed)
                return false
            }
            switch queue.pop() {
            case .element(let element):
                waiter.finishClaim(case: index, payload: element)
            case .closed:
                waiter.finishClaim(case: index, payload: nil)
            case .empty:
                waiter.abandonClaim()
                waiters.receivers.append((0, .select(waiter, case: index)))
                return false
            }
            // Relaxed: see `waitingReceivers`.
            waitingReceivers.subtract(1, ordering: .relaxed)
            return true
        }
        if completed { waiter.wake() }
    }

    /// Removes every entry of `waiter`'s select.
    @usableFromInline
    func unregisterSelect(_ waiter: _SelectWaiter) {
        state.withLock { waiters in
            while waiters.receivers.removeFirst(where: { $0.token.belongs(to: waiter) }) != nil {
                // Relaxed: see `waitingReceivers`.
                waitingReceivers.subtract(1, ordering: .relaxed)
            }
        }
    }
}

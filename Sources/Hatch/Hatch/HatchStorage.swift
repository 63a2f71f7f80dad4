public import EventLoop
public import LoopUtilities
public import Synchronization

/// The one allocation shared by a hatch's two endpoints: a state word that doubles as a
/// spin lock, the value slot and one waiter slot per side.
///
/// Every operation is: lock (1 RMW, acquiring), decide with ``HatchState``, move the value
/// or a continuation, unlock (1 releasing store), then resume continuations outside the
/// lock. Critical sections are a few loads and stores, never a call out, never an
/// allocation, so the spin is short; a thread that keeps finding the lock taken yields
/// its CPU (the holder may have been preempted, as happens when there are more runnable
/// threads than cores).
///
/// Invariants, all protected by the lock bit:
/// - `receiverWaiter != nil` implies `value == nil` (a receiver waits only on an empty slot,
///   and a sender that finds a waiter hands its value over instead of storing it);
/// - a waiter slot holds the entry of at most one waiting call (a task's continuation or a
///   blocked thread), and each entry leaves its slot exactly once, under the lock, before it
///   is resumed;
/// - when a side closes, both waiter slots are emptied and resumed, so no call stays
///   suspended or parked on a closed hatch.
@usableFromInline
final class HatchStorage<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: the mutable fields below are only touched while holding the lock
    // bit of `state` (acquired by an acquiring RMW, released by a releasing store), which
    // orders every access; `state` itself is atomic.

    /// The ``HatchState`` bits.
    @usableFromInline let state: Atomic<UInt64>

    /// The value in the hatch. Protected by the lock bit of `state`.
    @usableFromInline @exclusivity(unchecked) var value: Value?
    /// The waiting receive (a suspended task or a blocked thread), resumed with the value
    /// (hand-off), to re-check (a side closed, or its timer fired) or as cancelled.
    /// Protected by the lock bit of `state`.
    @usableFromInline @exclusivity(unchecked) var receiverWaiter: ReceiverWaiter?
    /// Whether the suspended receive closes the receiver when it gets its value: the sender
    /// applies it at hand-off. Protected by the lock bit of `state`.
    @usableFromInline @exclusivity(unchecked) var receiverWaiterCloses: Bool
    /// The waiting `send`, `waitForReceiver()` or `sendSync` (a suspended task or a blocked
    /// thread), resumed to re-check. Protected by the lock bit of `state`.
    @usableFromInline @exclusivity(unchecked) var senderWaiter: SenderWaiter?
    /// A select waiting for this receiver's value: told (claimed and woken) when a value is
    /// stored or a side closes, and then takes the value itself, as the hatch's one
    /// consumer. Protected by the lock bit of `state`.
    @usableFromInline @exclusivity(unchecked) var receiverSelect: (waiter: _SelectWaiter, index: Int)?

    /// Inlinable so that it is specialized at the call site: unspecialized, initializing
    /// the generic stored properties looks their metadata up on every call.
    @inlinable
    init() {
        state = Atomic(HatchState.initial.bits)
        value = nil
        receiverWaiter = nil
        receiverWaiterCloses = false
        senderWaiter = nil
        receiverSelect = nil
    }

    deinit {
        // Both endpoints are gone; a closing side always empties the waiter slots.
        assert(
            receiverWaiter == nil && senderWaiter == nil && receiverSelect == nil,
            "HatchStorage released with a suspended waiter"
        )
    }

    // MARK: Lock

    /// Takes the spin lock and returns the state seen at that moment (with the lock bit).
    @inlinable
    @inline(__always)
    func lock() -> HatchState {
        // Acquiring: pairs with the releasing store in `unlock`, so everything the previous
        // holder wrote (value, waiter slots) is visible to us.
        let old = state.bitwiseOr(HatchState.lockedBit, ordering: .acquiring).oldValue
        if old & HatchState.lockedBit == 0 { return HatchState(bits: old | HatchState.lockedBit) }
        return lockContended()
    }

    @usableFromInline
    @inline(never)
    func lockContended() -> HatchState {
        var backoff = Backoff()
        while true {
            // Relaxed: only a hint that the lock looks free; the RMW below acquires.
            while state.load(ordering: .relaxed) & HatchState.lockedBit != 0 { backoff.snooze() }
            // Acquiring: as in `lock()`.
            let old = state.bitwiseOr(HatchState.lockedBit, ordering: .acquiring).oldValue
            if old & HatchState.lockedBit == 0 { return HatchState(bits: old | HatchState.lockedBit) }
        }
    }

    /// Releases the lock, publishing `newState` (whose lock and value bits are ignored: the
    /// value bit is set from the slot as we leave it).
    @inlinable
    @inline(__always)
    func unlock(_ newState: HatchState) {
        // The fence is a compiler barrier for reference counting (free on x86, where a
        // releasing fence emits no instruction). Swift's ARC optimizer moves a retain down
        // past loads and stores, atomic ones included, on the premise that a store cannot
        // release anything; so the retain of a value just stored in the slot could land
        // after the unlocking store below, where the receiver may already have taken the
        // value and released it to zero. A fence is not a store: retains stay above it.
        atomicMemoryFence(ordering: .releasing)
        // Releasing: publishes our writes to the value and waiter slots to the next holder.
        // A plain store suffices because nobody else writes `state` while we hold the lock.
        state.store(newState.unlocked.withValue(value != nil).bits, ordering: .releasing)
    }

    /// Whether a receive at `epoch` would only wait, judged from one load without the lock
    /// (see ``HatchState/mustWaitToReceive(epoch:)``): lets `receive()` skip a lock round
    /// trip that would find the hatch empty.
    @inlinable
    func looksEmpty(epoch: UInt64) -> Bool {
        // Relaxed: only a hint; the registration that follows takes the lock (acquiring)
        // and decides on what it sees there.
        HatchState(bits: state.load(ordering: .relaxed)).mustWaitToReceive(epoch: epoch)
    }

    /// A task's receive on an empty hatch: spins about a microsecond (none on a loop thread
    /// with other ready work, which may be what sends) while the hatch stays empty. Whether
    /// it stopped looking non-empty, a hint as ``looksEmpty(epoch:)`` is.
    @usableFromInline
    func spinWhileEmpty(epoch: UInt64) -> Bool {
        if Dispatcher.currentLoopHasReadyWork { return false }
        var backoff = Backoff()
        while backoff.pauseIfNotSpent() {
            if !looksEmpty(epoch: epoch) { return true }
        }
        return false
    }

    /// A snapshot of the state for `isClosed`.
    @inlinable
    func snapshot() -> HatchState {
        // Acquiring: a caller that sees "closed" may then rely on the closing side's writes.
        HatchState(bits: state.load(ordering: .acquiring))
    }

    // MARK: Send

    /// `trySend`: 1 RMW (lock) + 1 store (unlock); plus the resumption of a waiting receiver.
    @inlinable
    func trySend(
        _ value: Value,
        epoch: UInt64,
        overwrites: Bool,
        closes: Bool
    ) throws(HatchSendError<Value>) -> Value? {
        let s = lock()
        switch s.sendAction(
            epoch: epoch,
            slotFull: self.value != nil,
            receiverWaiting: receiverWaiter != nil,
            overwrites: overwrites
        ) {
        case .closed:
            unlock(s)
            throw .closed(value)
        case .full:
            unlock(s)
            throw .full(value)
        case .handOff:
            let receiver = receiverWaiter.unsafelyUnwrapped
            receiverWaiter = nil
            var next = s
            if receiverWaiterCloses { next = next.closing(.receiver) }
            if closes { next = next.closing(.sender) }
            // A side closed: a task suspended in `send`/`waitForReceiver` on this sender
            // must wake up to see it.
            let sender = next == s ? nil : takeSenderWaiter()
            unlock(next)
            receiver.resume(.value(value))
            sender?.resume()
            return nil
        case .store, .replace:
            // .store finds the slot empty (nil comes back); .replace hands back the old value.
            let old = self.value
            self.value = value
            let select = takeReceiverSelect()
            if closes {
                let sender = takeSenderWaiter()
                unlock(s.closing(.sender))
                sender?.resume()
            } else {
                unlock(s)
            }
            if let select { Self.notify(select) }
            return old
        }
    }

    /// How a suspended `receive()` is woken.
    @usableFromInline
    @frozen
    enum ReceiverWake: Sendable {
        /// The sender handed its value over.
        case value(Value)
        /// A side closed (or the receiver went stale): look at the hatch again.
        case recheck
        /// The task was cancelled while it waited (or before it could register).
        case cancelled
    }

    /// The entry of the waiting receive. Taken out of `receiverWaiter` under the lock, and
    /// resumed once, outside it.
    @usableFromInline
    @frozen
    enum ReceiverWaiter: Sendable {
        /// A task suspended in `receive()` or `receive(timeout:)`.
        case task(UnsafeContinuation<ReceiverWake, Never>)
        /// A plain thread parked in `receiveSync`; never woken as cancelled.
        case thread(BlockedThread<ReceiverWake>)

        @inlinable
        @inline(__always)
        func resume(_ wake: ReceiverWake) {
            switch self {
            case .task(let continuation):
                // The receiver may still be inside its registering closure when the sender is
                // another thread: see resumeHidingRuntimeReads.
                resumeHidingRuntimeReads(continuation, with: .success(wake))
            case .thread(let thread): thread.deliver(wake)
            }
        }
    }

    /// The entry of the waiting sender: woken to re-check. Taken out of `senderWaiter` under
    /// the lock, and resumed once, outside it.
    @usableFromInline
    @frozen
    enum SenderWaiter: Sendable {
        /// A task suspended in `send`, `send(_:timeout:)` or `waitForReceiver()`.
        case task(UnsafeContinuation<Void, Never>)
        /// A plain thread parked in `sendSync`.
        case thread(BlockedThread<Void>)
        /// A select whose send case waits for room: woken, it is claimed (unless it ended
        /// another way) and then sends itself, as the hatch's one producer.
        case select(_SelectWaiter, case: Int)

        @inlinable
        @inline(__always)
        func resume() {
            switch self {
            case .task(let continuation):
                // The sender may still be inside its registering closure: see
                // resumeHidingRuntimeReads.
                resumeHidingRuntimeReads(continuation)
            case .thread(let thread): thread.deliver(())
            case .select(let waiter, let index): HatchStorage.notify((waiter, index))
            }
        }
    }

    /// Takes the waiting select's registration, under the lock.
    @inlinable
    @inline(__always)
    func takeReceiverSelect() -> (waiter: _SelectWaiter, index: Int)? {
        guard let select = receiverSelect else { return nil }
        receiverSelect = nil
        return select
    }

    /// Tells a waiting select that its hatch case is ready (a value, or a closed side): it
    /// wins if it has not ended another way, and then takes the value itself. Outside the
    /// lock.
    @usableFromInline
    static func notify(_ select: (waiter: _SelectWaiter, index: Int)) {
        if select.waiter.claim(case: select.index, payload: nil) { select.waiter.wake() }
    }

    @inlinable
    @inline(__always)
    func takeSenderWaiter() -> SenderWaiter? {
        let waiter = senderWaiter
        senderWaiter = nil
        return waiter
    }

    /// Whether a receive or a select waits for a value, for a lazy sender (under the lock).
    @inlinable
    var receiverIsWaiting: Bool { receiverWaiter != nil || receiverSelect != nil }

    /// What a suspended sender waits for.
    @usableFromInline
    @frozen
    enum SenderWait: Sendable {
        /// `send`: an empty slot (or a waiting receiver).
        case space
        /// `waitForReceiver`: a receiver suspended on an empty slot.
        case receiver
    }

    /// `waitForReceiver`'s decision, under the lock: 1 RMW (lock) + 1 store (unlock).
    @usableFromInline
    func lazySendAction(epoch: UInt64) -> HatchState.LazySendAction {
        let s = lock()
        let action = s.lazySendAction(epoch: epoch, slotFull: value != nil, receiverWaiting: receiverIsWaiting)
        unlock(s)
        return action
    }

    /// Suspends the calling sender until the state may have changed for `reason`; returns
    /// at once if it already has, or if the task is cancelled. The caller re-checks.
    @inlinable
    nonisolated(nonsending) func waitAsSender(epoch: UInt64, for reason: SenderWait) async {
        await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let s = lock()
                let mustWait: Bool
                switch reason {
                case .space:
                    mustWait =
                        s.sendAction(
                            epoch: epoch,
                            slotFull: value != nil,
                            receiverWaiting: receiverWaiter != nil,
                            overwrites: false
                        ) == .full
                case .receiver:
                    mustWait =
                        s.lazySendAction(epoch: epoch, slotFull: value != nil, receiverWaiting: receiverIsWaiting)
                        == .wait
                }
                // Checked under the lock after the cancellation handler may have run: a
                // handler that ran before we registered found nothing to resume.
                guard mustWait, !Task.isCancelled else {
                    unlock(s)
                    continuation.resume()
                    return
                }
                if senderWaiter != nil {
                    unlock(s)
                    Self.twoSendersWait()
                }
                senderWaiter = .task(continuation)
                unlock(s)
            }
        } onCancel: {
            self.cancelSenderWaiter()
        }
    }

    /// The cancellation handler of a suspended sender, and the timer of a timed one: wakes a
    /// task waiting as the sender to re-check. A blocked thread is never cancelled (its
    /// deadline is its own), so its entry stays.
    @usableFromInline
    func cancelSenderWaiter() {
        let s = lock()
        guard case .task(let continuation) = senderWaiter else {
            unlock(s)
            return
        }
        senderWaiter = nil
        unlock(s)
        continuation.resume()
    }

    /// Stops the process: a second sender waits while one already does (misuse).
    @usableFromInline
    static func twoSendersWait() -> Never {
        fatalError(
            "HatchSender: two sends wait on the same hatch at once (tasks in send/waitForReceiver, threads in "
                + "sendSync); a hatch has a single producer (serialize the calls or use one hatch per producer)"
        )
    }

    /// Stops the process: a second receive waits while one already does (misuse).
    @usableFromInline
    static func twoReceiversWait() -> Never {
        fatalError(
            "HatchReceiver: two receives wait on the same hatch at once (tasks in receive, threads in "
                + "receiveSync); a hatch has a single consumer (serialize the calls or use one hatch per consumer)"
        )
    }

    // MARK: Receive

    /// `tryReceive`: 1 RMW (lock) + 1 store (unlock); plus the resumption of a waiting sender.
    @inlinable
    func tryReceive(epoch: UInt64, closes: Bool) throws(HatchClosedError) -> Value? {
        let s = lock()
        switch s.receiveAction(epoch: epoch, slotFull: value != nil) {
        case .closed:
            unlock(s)
            throw .closed
        case .empty:
            unlock(s)
            return nil
        case .take:
            return takeValue(s, closes: closes)
        }
    }

    /// Under the lock, with a value in the slot: moves it out, unlocks (closing the receiver
    /// if `closes`) and wakes a sender suspended in `send`, as the slot has room again.
    @inlinable
    @inline(__always)
    func takeValue(_ s: HatchState, closes: Bool) -> Value {
        let taken = value.unsafelyUnwrapped
        value = nil
        let sender = takeSenderWaiter()
        unlock(closes ? s.closing(.receiver) : s)
        sender?.resume()
        return taken
    }

    /// The slow path of `receive()`: registers the receiver and suspends. Returns how it was
    /// woken: with the value handed over by the sender, to re-check (closed), or cancelled.
    ///
    /// The task's cancellation is read once, under the lock, at registration: a handler
    /// that ran before found no waiter to resume, so this read catches it; one that runs
    /// later finds the waiter. (Each read of `Task.isCancelled` retains and releases the
    /// task, two atomic RMWs, so `receive()` does not read it again.)
    @inlinable
    nonisolated(nonsending) func waitAsReceiver(epoch: UInt64, closes: Bool) async -> ReceiverWake {
        await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<ReceiverWake, Never>) in
                let s = lock()
                switch s.receiveAction(epoch: epoch, slotFull: value != nil) {
                case .closed:
                    unlock(s)
                    continuation.resume(returning: .recheck)
                case .take:
                    continuation.resume(returning: .value(takeValue(s, closes: closes)))
                case .empty:
                    if Task.isCancelled {
                        unlock(s)
                        continuation.resume(returning: .cancelled)
                        return
                    }
                    if receiverIsWaiting {
                        unlock(s)
                        Self.twoReceiversWait()
                    }
                    receiverWaiter = .task(continuation)
                    receiverWaiterCloses = closes
                    // A lazy sender waits for exactly this.
                    let sender = takeSenderWaiter()
                    unlock(s)
                    sender?.resume()
                }
            }
        } onCancel: {
            self.cancelReceiverWaiter()
        }
    }

    /// The cancellation handler of a suspended receive: resumes a task waiting as the
    /// receiver as cancelled.
    @usableFromInline
    func cancelReceiverWaiter() {
        wakeReceiverTask(.cancelled)
    }

    /// Takes a task's entry out of `receiverWaiter` and resumes it with `wake`: for its
    /// cancellation handler and its timer. A blocked thread is never cancelled (its deadline
    /// is its own), so its entry stays.
    @usableFromInline
    func wakeReceiverTask(_ wake: ReceiverWake) {
        let s = lock()
        guard case .task(let continuation) = receiverWaiter else {
            unlock(s)
            return
        }
        receiverWaiter = nil
        unlock(s)
        continuation.resume(returning: wake)
    }

    // MARK: Close and recover

    /// Closes `side` if the endpoint at `epoch` is its current one: 1 RMW + 1 store, or a
    /// single load when it is already closed or stale (a oneshot after its exchange).
    /// Wakes every suspended call; a receiver that closes drops the value nobody can read.
    @inlinable
    func close(_ side: HatchState.Side, epoch: UInt64) {
        // An endpoint that is closed or stale never opens again (a recovery opens a new
        // epoch), so a "not open" seen without the lock is final: no lock, no generic work.
        // This is the endpoints' deinit path, which runs unspecialized: inlined there, this
        // check touches only the state word, while `closeOpen` needs the metadata of the
        // generic waiter types (a lookup per call when unspecialized).
        guard snapshot().isOpen(side, epoch: epoch) else { return }
        closeOpen(side, epoch: epoch)
    }

    /// `close` once the endpoint looked open: decides again under the lock.
    @usableFromInline
    func closeOpen(_ side: HatchState.Side, epoch: UInt64) {
        let s = lock()
        guard s.isOpen(side, epoch: epoch) else {
            unlock(s)
            return
        }
        let receiver = receiverWaiter
        receiverWaiter = nil
        let sender = takeSenderWaiter()
        let select = takeReceiverSelect()
        let dropped = side == .receiver ? value.take() : nil
        unlock(s.closing(side))
        receiver?.resume(.recheck)
        sender?.resume()
        if let select { Self.notify(select) }
        _ = dropped  // released here, outside the lock
    }

    /// Reopens the closed peer of `side` under a new epoch and returns that epoch: 1 RMW + 1 store.
    @usableFromInline
    func recover(from side: HatchState.Side, epoch: UInt64) throws(HatchRecoverError) -> UInt64 {
        let s = lock()
        switch s.recoverAction(from: side, epoch: epoch) {
        case .callerClosed:
            unlock(s)
            throw .closed
        case .peerLive:
            unlock(s)
            throw .live
        case .recover:
            // Closing emptied both waiter slots; a value the old sender left stays for the
            // new receiver's owner (from the sender side the slot is already empty).
            assert(receiverWaiter == nil && senderWaiter == nil)
            let next = s.recovering(side.peer)
            unlock(next)
            return next.epoch(side.peer)
        }
    }
}

// MARK: Selects

extension HatchStorage {
    /// A select's hatch case registers: when the hatch is ready for this receiver (a value,
    /// or closed) the select is claimed now; else it is recorded, and a lazy sender waiting
    /// for a receiver is woken. A second registration of the same select (the hatch twice in
    /// one select) keeps the first.
    @usableFromInline
    func registerSelect(_ waiter: _SelectWaiter, case index: Int, epoch: UInt64) {
        let s = lock()
        switch s.receiveAction(epoch: epoch, slotFull: value != nil) {
        case .closed, .take:
            unlock(s)
            Self.notify((waiter, index))
        case .empty:
            if let registered = receiverSelect, registered.waiter === waiter {
                unlock(s)
                return
            }
            if receiverIsWaiting {
                unlock(s)
                fatalError(
                    "HatchReceiver: a select and another receive wait on the same hatch at once; "
                        + "a hatch has a single consumer (serialize the calls or use one hatch per consumer)"
                )
            }
            receiverSelect = (waiter, index)
            // A lazy sender waits for exactly this.
            let sender = takeSenderWaiter()
            unlock(s)
            sender?.resume()
        }
    }

    /// Removes `waiter`'s registration, if it is still there.
    @usableFromInline
    func unregisterSelect(_ waiter: _SelectWaiter) {
        let s = lock()
        if let registered = receiverSelect, registered.waiter === waiter { receiverSelect = nil }
        unlock(s)
    }
}

extension HatchStorage {
    /// A select's send case registers: when a send would not wait (room, a waiting
    /// receiver, overwrite mode, or a closed side) the select is claimed now; else it is
    /// recorded as the hatch's waiting sender, woken when the slot empties, a receiver starts
    /// waiting, or a side closes. A second registration of the same select keeps the first.
    @usableFromInline
    func registerSendSelect(_ waiter: _SelectWaiter, case index: Int, epoch: UInt64, overwrites: Bool) {
        let s = lock()
        let action = s.sendAction(
            epoch: epoch,
            slotFull: value != nil,
            receiverWaiting: receiverWaiter != nil,
            overwrites: overwrites
        )
        guard action == .full else {
            unlock(s)
            Self.notify((waiter, index))
            return
        }
        if case .select(let registered, _) = senderWaiter, registered === waiter {
            unlock(s)
            return
        }
        if senderWaiter != nil {
            unlock(s)
            fatalError(
                "HatchSender: a select and another send wait on the same hatch at once; "
                    + "a hatch has a single producer (serialize the calls or use one hatch per producer)"
            )
        }
        senderWaiter = .select(waiter, case: index)
        unlock(s)
    }

    /// Removes `waiter`'s send registration, if it is still there.
    @usableFromInline
    func unregisterSendSelect(_ waiter: _SelectWaiter) {
        let s = lock()
        if case .select(let registered, _) = senderWaiter, registered === waiter { senderWaiter = nil }
        unlock(s)
    }
}

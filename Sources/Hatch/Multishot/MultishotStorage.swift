public import EventLoop
public import LoopUtilities
public import Synchronization

/// The one allocation of a multishot channel, for the receiver's whole life, and every
/// transition of its state machine.
///
/// Each transition is one method and one RMW on `state` (a load and a CAS for the two that
/// must not act on a stale state): ``makeSender()`` starts a round, ``send(_:from:)`` and
/// ``senderDropped()`` end it from the sender's side, ``take()`` (inside ``receive()``)
/// takes its value, ``waitForValue()`` and ``cancelWaiter()`` register and unregister the
/// receiver's continuation, and ``receiverGone()`` is the receiver's release. The endpoints
/// only call these; ``MultishotState`` says what each state seen means.
///
/// The hot paths (`sender()`, `send`, `receive`), the endpoint's method and the storage
/// method it calls alike, are always inlined, so that the caller gets them specialized and
/// in one body. Left to the optimizer, the two layers stayed out of line in the caller (a
/// call each, and for `receive` an async frame with a task allocation and an executor hop
/// per call). The release paths run in the endpoints' deinits, which are unspecialized, and
/// stay a few instructions.
@usableFromInline
final class MultishotStorage<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: the plain fields are handed between threads by the `state` RMWs,
    // as each field's comment says; no field is ever touched by two parties at once.

    /// The ``MultishotState`` bits.
    @usableFromInline let state: Atomic<UInt>
    /// Written by the live sender before its releasing send RMW; read and cleared by the
    /// receiver after an acquiring load/CAS that saw `value` (``take()``), or by
    /// ``makeSender()`` when no sender is live.
    @usableFromInline @exclusivity(unchecked) var value: Value?
    /// Written by the receiver while `waiting` is clear, then published by its releasing RMW
    /// that sets `waiting`; taken by the one party that owns it (see ``MultishotState``).
    /// Resumed with true by a cancellation (or the timer of a timed wait), false by the
    /// sender (sent or released).
    @usableFromInline @exclusivity(unchecked) var waiter: Waiter?
    /// The other kind of waiter: a select whose case waits for this round. Written, published
    /// and owned exactly like `waiter` (at most one of the two is set); its owner claims the
    /// select instead of resuming a continuation, and the select then takes the value itself.
    @usableFromInline @exclusivity(unchecked) var selectWaiter: (waiter: _SelectWaiter, index: Int)?
    /// True from a select's registration until whoever owns `selectWaiter` has emptied it.
    /// A select may end through another case while the sender owns the slot; before the
    /// receiver's side registers again, its unregistration waits for this to clear, so the
    /// slot is never written by the receiver while the sender still reads it.
    @usableFromInline let selectSlotHeld = Atomic<Bool>(false)
    /// A sender that has sent, kept for reuse so that ``makeSender()`` need not allocate.
    /// Written by that sender before its releasing send RMW; read by the receiver only after
    /// an acquiring RMW or load that saw `open` clear (or by the sender itself once the
    /// receiver is gone).
    @usableFromInline @exclusivity(unchecked) var parked: MultishotSender<Value>?

    @usableFromInline
    init() {
        state = Atomic(0)
        value = nil
        waiter = nil
        selectWaiter = nil
        parked = nil
    }

    /// The entry of the waiting receive: a suspended task or a blocked plain thread.
    @usableFromInline
    @frozen
    enum Waiter: Sendable {
        /// A task suspended in `receive()` or `receive(timeout:)`.
        case task(UnsafeContinuation<Bool, Never>)
        /// A plain thread parked in `receiveSync`; never cancelled.
        case thread(BlockedThread<Bool>)
    }

    // MARK: Rounds

    /// `sender()`: starts a new round and returns its sender, or nil while a live sender has
    /// neither sent nor been released. 1 acquiring load + 1 CAS.
    ///
    /// Discards a value sent but not received. Reuses the parked sender of the previous round
    /// when nobody else holds it, so steady-state rounds allocate nothing. Called by the
    /// receiver's owner only, not concurrently with ``receive()``.
    @inlinable
    @inline(__always)
    func makeSender() -> MultishotSender<Value>? {
        // Acquiring: makes the previous sender's writes (value, parked) visible.
        let bits = state.load(ordering: .acquiring)
        guard MultishotState(bits: bits).canMakeSender else { return nil }
        // CAS rather than a store: two threads calling sender() at once get one sender.
        // Acquiring as above; the new round is published to the new sender's thread by
        // however the caller hands the sender over.
        guard
            state.compareExchange(
                expected: bits,
                desired: MultishotState.newRound.bits,
                ordering: .acquiring
            ).exchanged
        else { return nil }
        let discarded = value
        value = nil
        _ = discarded
        if parked != nil, isKnownUniquelyReferenced(&parked) {
            // Nobody else holds the old sender: reopen it for this round.
            let sender = parked.unsafelyUnwrapped
            parked = nil
            sender.rearm()
            return sender
        }
        parked = nil
        return MultishotSender(storage: self)
    }

    // MARK: Sender side

    /// `send`: publishes `value` and ends the round (`open → value`): 1 arithmetic RMW, plus
    /// the receiver's resumption if it waits.
    ///
    /// Called only by `sender`, the round's live sender, once, after it won its own
    /// `consumed` election (so no other send or drop of this round runs).
    ///
    /// - Returns: true if the value was delivered; false if the receiver is gone (the value
    ///   is released).
    @inlinable
    @inline(__always)
    func send(_ value: Value, from sender: MultishotSender<Value>) -> Bool {
        self.value = value
        parked = sender
        // Releasing: publishes `value` and `parked` to the receiver's acquiring load.
        // Acquiring: we may take the continuation the receiver published.
        let old = MultishotState(
            bits: state.wrappingSubtract(MultishotState.sendDelta, ordering: .acquiringAndReleasing).oldValue
        )
        if old.isReceiverGone {
            sendFoundReceiverGone()
            return false
        }
        if old.senderOwnsWaiter { resumeWaiter(cancelled: false) }
        return true
    }

    /// The cold end of ``send(_:from:)``: the receiver saw the sender open when it left, so
    /// the sender cleans up (releases the value and itself from `parked`). Kept out of line
    /// so that the inlined send stays small.
    @usableFromInline
    @inline(never)
    func sendFoundReceiverGone() {
        value = nil
        parked = nil
    }

    /// The release of the round's live sender without a send (`open → ∅`): 1 arithmetic
    /// RMW, plus the receiver's resumption if it waits. Called once, from that sender's
    /// deinit, only when it did not send.
    @inlinable
    @inline(__always)
    func senderDropped() {
        // Releasing: our round is over; acquiring: we may take the registered continuation.
        let old = MultishotState(
            bits: state.wrappingSubtract(MultishotState.dropDelta, ordering: .acquiringAndReleasing).oldValue
        )
        if old.senderOwnsWaiter { resumeWaiter(cancelled: false) }
    }

    // MARK: Receiver side

    /// What ``take()`` found.
    @usableFromInline
    @frozen
    enum Take: Sendable {
        /// The round's value, now taken: the state is empty again.
        case value(Value)
        /// The round ended without a value (or none was started).
        case closed
        /// A live sender has not sent yet.
        case empty
    }

    /// Takes the round's value if it is there: 1 acquiring load, plus 1 CAS when there is a
    /// value (repeated only if a cancellation handler changed `waiting` in between), or 1
    /// relaxed RMW to clear a `waiting` left by a sender that released without sending.
    @inlinable
    @inline(__always)
    func take() -> Take {
        while true {
            // Acquiring: pairs with the sender's releasing send RMW; the value is visible.
            let bits = state.load(ordering: .acquiring)
            let current = MultishotState(bits: bits)
            switch current.receiveAction {
            case .take:
                // A CAS, not a store: a second consumer racing with us (misuse) cannot take
                // the same value twice. Acquiring as the load above.
                if state.compareExchange(expected: bits, desired: current.afterTake.bits, ordering: .acquiring)
                    .exchanged
                {
                    let taken = value.unsafelyUnwrapped
                    value = nil
                    return .value(taken)
                }
            case .closed:
                if current.isWaiting {
                    // Left by a sender that took our continuation; the round is over.
                    // Relaxed: with `open` clear no other party acts on `waiting` (a
                    // cancellation handler takes nothing), and nothing is published with it.
                    state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
                }
                return .closed
            case .wait:
                return .empty
            }
        }
    }

    /// How ``receive()`` ended.
    @usableFromInline
    @frozen
    enum Received: Sendable {
        /// The round's value.
        case value(Value)
        /// The round ended without a value (or none was started).
        case closed
        /// The task was cancelled while the round was still open; nothing was taken.
        case cancelled
    }

    /// `receive()`: takes the value, waiting for the sender while the round is open.
    ///
    /// A value that is there is taken even when the task is cancelled. After a wait that a
    /// cancellation ended, a round that is still open ends as `.cancelled` instead of
    /// waiting again. Always inlined into the receiver's `receive()`: an async frame of its
    /// own would add an executor hop per wait.
    @inlinable
    @inline(__always)
    nonisolated(nonsending) func receive() async -> Received {
        // Whether the last wait ended by cancellation.
        var cancelled = false
        while true {
            switch take() {
            case .value(let value): return .value(value)
            case .closed: return .closed
            case .empty:
                if cancelled { return .cancelled }
                cancelled = await waitForValue()
            }
        }
    }

    /// Suspends the receiver until the sender sends, is released, or the task is cancelled.
    /// The caller re-examines the state afterwards (the waker leaves `waiting` set; the next
    /// ``take()`` clears it).
    ///
    /// - Returns: true when a cancellation woke it. The task's cancellation is read only
    ///   here, once per wait (each read of `Task.isCancelled` retains and releases the task).
    @inlinable
    nonisolated(nonsending) func waitForValue() async -> Bool {
        await withCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                // Acquiring-and-releasing for the load is not needed: `waiting` is only ever
                // set by the receiver, so a relaxed load tells whether another receive of
                // this receiver is suspended right now (misuse).
                if state.load(ordering: .relaxed) & MultishotState.waitingBit != 0 {
                    Self.twoReceiversWait()
                }
                waiter = .task(continuation)
                // Releasing: publishes `waiter` to the sender or the cancellation handler
                // that will take it. Acquiring: if the sender finished first, its value
                // write is visible, and the cancellation handler's flag is (see below).
                let old = MultishotState(
                    bits: state.bitwiseOr(MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
                )
                if !old.isOpen {
                    // The sender finished before we registered and never saw `waiting`: the
                    // slot is still ours. Unregister and resume at once. Relaxed: with
                    // `open` clear no other party acts on `waiting` (a cancellation handler
                    // takes nothing), and nothing is published with it.
                    waiter = nil
                    state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
                    continuation.resume(returning: false)
                } else if Task.isCancelled {
                    // A cancellation handler that ran before our RMW found nothing to take.
                    // Take it back ourselves unless the sender or a handler already did.
                    self.cancelWaiter()
                }
            }
        } onCancel: {
            self.cancelWaiter()
        }
    }

    /// The cancellation handler of a suspended receive (`open`, `waiting` → `open`): 1 RMW.
    /// Callable from any thread; does nothing unless it takes the continuation.
    @usableFromInline
    func cancelWaiter() {
        // Acquiring: we may take the continuation the receiver published with its releasing
        // RMW. Releasing: orders the task's cancelled flag (set before this handler runs)
        // before a later registration that reads our result (see `waitForValue`).
        let old = MultishotState(
            bits: state.bitwiseAnd(~MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
        )
        if old.cancellationOwnsWaiter { resumeWaiter(cancelled: true) }
    }

    /// Resumes the registered waiter, which the caller's RMW made its own.
    @inlinable
    @inline(__always)
    func resumeWaiter(cancelled: Bool) {
        if selectWaiter != nil {
            resumeSelectWaiter(cancelled: cancelled)
            return
        }
        let taken = waiter.unsafelyUnwrapped
        waiter = nil
        switch taken {
        case .task(let continuation):
            // The receiver may still be inside its registering closure on another thread:
            // see resumeHidingRuntimeReads.
            resumeHidingRuntimeReads(continuation, with: .success(cancelled))
        case .thread(let thread): thread.deliver(cancelled)
        }
    }

    /// Stops the process: a second receive waits while one already does (misuse).
    @usableFromInline
    static func twoReceiversWait() -> Never {
        fatalError(
            "MultishotReceiver: two receives wait on the same receiver at once (tasks in receive, threads in "
                + "receiveSync); a multishot channel has a single consumer (serialize the receives)"
        )
    }

    /// ``resumeWaiter(cancelled:)`` for a select: the round ended (not `cancelled`), so the
    /// select's case is ready; a select that ended another way is not claimed. Taking it back
    /// (`cancelled`) only empties the slot.
    @usableFromInline
    func resumeSelectWaiter(cancelled: Bool) {
        let select = selectWaiter.unsafelyUnwrapped
        selectWaiter = nil
        // Releasing: our last access to the slot comes before the receiver's next write.
        selectSlotHeld.store(false, ordering: .releasing)
        if !cancelled, select.waiter.claim(case: select.index, payload: nil) { select.waiter.wake() }
    }

    /// The receiver's release (sets `gone`): 1 RMW. Called once, from its deinit.
    ///
    /// With no live sender the slots are ours, and the parked sender is released (it holds
    /// this storage: the cycle is broken here). A live sender sees `gone` and cleans up
    /// after itself in ``send(_:from:)``.
    @inlinable
    @inline(__always)
    func receiverGone() {
        // Acquiring-and-releasing: if the sender already finished we must see its writes to
        // `parked`/`value` before releasing them; if it is still live, it must see `gone`
        // and clean up after itself.
        let old = MultishotState(
            bits: state.bitwiseOr(MultishotState.goneBit, ordering: .acquiringAndReleasing).oldValue
        )
        if old.receiverOwnsSlots {
            // Breaks the parked sender → storage → parked cycle.
            parked = nil
        }
    }
}

// MARK: Selects

extension MultishotStorage {
    /// A select's case registers as the receiver's waiter, as ``waitForValue()`` registers a
    /// continuation; when the round has already ended (a value, or no live sender), the
    /// select is claimed at once. With `waiting` already set, the registration is this
    /// select's own earlier one (the receiver twice in one select), which stands.
    @usableFromInline
    func registerSelect(_ select: _SelectWaiter, case index: Int) {
        // Relaxed: `waiting` is set only by the receiver's side, which is this caller.
        if state.load(ordering: .relaxed) & MultishotState.waitingBit != 0 { return }
        // Relaxed: published with the slot by the releasing RMW below.
        selectSlotHeld.store(true, ordering: .relaxed)
        selectWaiter = (select, index)
        // Releasing: publishes `selectWaiter` to whoever takes it; acquiring: if the sender
        // finished first, its writes are visible.
        let old = MultishotState(
            bits: state.bitwiseOr(MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
        )
        if !old.isOpen {
            // The round ended before we registered, and nobody saw `waiting`: the slot is
            // still ours. Unregister and claim now. Relaxed: as in `waitForValue`.
            selectWaiter = nil
            selectSlotHeld.store(false, ordering: .relaxed)
            state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
            if select.claim(case: index, payload: nil) { select.wake() }
        }
    }

    /// Takes the select's registration back, unless the sender already owns it (then the
    /// sender's claim of the ended select fails, and `waiting` is cleared here).
    @usableFromInline
    func unregisterSelect() {
        // As `cancelWaiter`.
        let old = MultishotState(
            bits: state.bitwiseAnd(~MultishotState.waitingBit, ordering: .acquiringAndReleasing).oldValue
        )
        if old.cancellationOwnsWaiter {
            resumeWaiter(cancelled: true)
        } else if old.isWaiting {
            // The sender owns the slot: wait until it has emptied it (a few instructions).
            var backoff = Backoff()
            // Acquiring: pairs with the sender's releasing store.
            while selectSlotHeld.load(ordering: .acquiring) { backoff.snooze() }
        }
    }
}

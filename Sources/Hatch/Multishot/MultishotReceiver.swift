public import Synchronization

/// The reusable receiving end of a multishot channel: it recycles its one-shot sender
/// without allocating new storage.
///
/// One allocation holds the state word, the value slot and the waiter slot for the
/// receiver's whole life. Each round: ``sender()`` gives a ``MultishotSender``, which sends
/// once (or is released without sending), and ``recv()`` gets the value (or
/// ``MultishotClosedError``). A single consumer: at most one task may be suspended in
/// ``recv()`` at a time (two at once stops the process with a message).
public final class MultishotReceiver<Value: Sendable>: Sendable {
    @usableFromInline let storage: MultishotStorage<Value>

    /// Creates a receiver with no sender yet; ``recv()`` throws until ``sender()`` makes one.
    public init() {
        storage = MultishotStorage()
    }

    deinit {
        // Acquiring-and-releasing: if the sender already finished we must see its writes to
        // `parked`/`value` before releasing them; if it is still live, it must see `gone`
        // and clean up after itself.
        let old = MultishotState(
            bits: storage.state.bitwiseOr(MultishotState.goneBit, ordering: .acquiringAndReleasing).oldValue
        )
        if !old.isOpen {
            // Breaks the parked sender → storage → parked cycle.
            storage.parked = nil
        }
    }

    /// Returns the sender of a new round, or nil while a live sender has neither sent nor
    /// been released.
    ///
    /// Guaranteed to succeed on the first call and whenever the previous round's
    /// ``recv()`` has completed. A value that was sent but not received is discarded. The
    /// sender object of the previous round is reused when nobody else holds it any more,
    /// so steady-state rounds allocate nothing. Cost: 1 acquiring load + 1 CAS.
    /// Call it from the receiver's owner (not concurrently with ``recv()``).
    @inlinable
    public func sender() -> MultishotSender<Value>? {
        // Acquiring: makes the previous sender's writes (value, parked) visible.
        let bits = storage.state.load(ordering: .acquiring)
        guard MultishotState(bits: bits).canMakeSender else { return nil }
        // CAS rather than a store: two threads calling sender() at once get one sender.
        // Acquiring as above; the new round is published to the new sender's thread by
        // however the caller hands the sender over.
        guard
            storage.state.compareExchange(
                expected: bits,
                desired: MultishotState.newRound.bits,
                ordering: .acquiring
            ).exchanged
        else { return nil }
        let discarded = storage.value
        storage.value = nil
        _ = discarded
        if storage.parked != nil, isKnownUniquelyReferenced(&storage.parked) {
            // Nobody else holds the old sender: reopen it for this round.
            let sender = storage.parked.unsafelyUnwrapped
            storage.parked = nil
            // Relaxed: the object is exclusively ours until we return it.
            sender.consumed.store(false, ordering: .relaxed)
            return sender
        }
        storage.parked = nil
        return MultishotSender(storage: storage)
    }

    /// Receives the value of the current round, waiting for the sender.
    ///
    /// Runs on the caller's executor (`nonisolated(nonsending)`); the sender resumes it from
    /// any thread (a task on a `Dispatcher` wakes through its inbox). Cost with the value
    /// present: 1 acquiring load + 1 CAS; waiting adds 1 RMW to register, and the sender's
    /// send RMW wakes it.
    ///
    /// - Returns: the value sent by this round's sender.
    /// - Throws: ``MultishotClosedError/closed`` when this round's sender was released
    ///   without sending, or no sender was made (the receiver stays reusable: call
    ///   ``sender()``). When the task is cancelled while waiting, throws
    ///   ``MultishotClosedError/cancelled``; the round stays open and a later `recv()` gets
    ///   its value.
    @inlinable
    nonisolated(nonsending) public func recv() async throws(MultishotClosedError) -> Value {
        // Whether the last wait ended by cancellation: then a round that is still open
        // throws instead of waiting again (a value that came first is still taken).
        var cancelled = false
        while true {
            // Acquiring: pairs with the sender's releasing send RMW; the value is visible.
            let bits = storage.state.load(ordering: .acquiring)
            let state = MultishotState(bits: bits)
            switch state.receiveAction {
            case .take:
                // A CAS, not a store: a second consumer racing with us (misuse) cannot take
                // the same value twice. Clears a leftover `waiting` too.
                if storage.state.compareExchange(
                    expected: bits,
                    desired: bits & MultishotState.goneBit,
                    ordering: .acquiring
                ).exchanged {
                    let value = storage.value.unsafelyUnwrapped
                    storage.value = nil
                    return value
                }
            case .closed:
                if state.isWaiting {
                    // Left by a sender that took our continuation; the round is over.
                    storage.state.bitwiseAnd(~MultishotState.waitingBit, ordering: .relaxed)
                }
                throw .closed
            case .wait:
                if cancelled { throw .cancelled }
                cancelled = await storage.waitForValue()
            }
        }
    }
}

/// The round ended without a value, or the waiting `recv()` was cancelled.
public struct MultishotClosedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// True when the `recv()` ended because its task was cancelled; the round is still open.
    public let isCancellation: Bool

    @inlinable init(isCancellation: Bool) { self.isCancellation = isCancellation }

    /// The sender was released without sending (or none was made); make a new one with
    /// ``MultishotReceiver/sender()``.
    public static let closed = MultishotClosedError(isCancellation: false)
    /// The task of a suspended `recv()` was cancelled.
    public static let cancelled = MultishotClosedError(isCancellation: true)

    public var description: String {
        isCancellation
            ? "MultishotClosedError.cancelled: the waiting task was cancelled; the round is still open"
            : "MultishotClosedError.closed: the sender was released without sending; call sender() for a new round"
    }
}

/// Makes a multishot receiver and the sender of its first round.
/// - Parameter of: the value type, when it cannot be inferred.
@inlinable
public func makeMultishot<Value: Sendable>(
    of: Value.Type = Value.self
) -> (sender: MultishotSender<Value>, receiver: MultishotReceiver<Value>) {
    let receiver = MultishotReceiver<Value>()
    return (receiver.sender().unsafelyUnwrapped, receiver)
}

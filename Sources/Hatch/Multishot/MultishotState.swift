/// The state word of a multishot channel: its bit layout and the pure decisions taken on it.
///
/// | bit | name       | meaning                                                              |
/// |-----|------------|----------------------------------------------------------------------|
/// | 0   | `value`    | a sent value waits in the slot (the sender that sent it is done)     |
/// | 1   | `open`     | a live sender exists that has neither sent nor been released          |
/// | 2   | `waiting`  | the receiver registered a waiter (task or thread) in the waiter slot  |
/// | 3   | `gone`     | the receiver was released                                            |
///
/// `open` and `value` are never both set. The sender moves `open → value` (send) or
/// `open → ∅` (release without sending) with one arithmetic RMW: because `open` is bit 1 and
/// `value` bit 0, a send is "subtract ``sendDelta``" and a silent release is "subtract
/// ``dropDelta``", whatever the other bits are, so no CAS loop is needed (multishot's trick).
///
/// Ownership of the waiter slot: the receiver writes it only while `waiting` is clear and
/// then sets `waiting`. Whoever clears `open` while `waiting` is set (the sender) or clears
/// `waiting` while `open` is set (the receiver's cancellation, the timer of a timed receive,
/// or a blocked thread taking its entry back at its deadline) owns the waiter; the RMWs are
/// totally ordered, so exactly one of them does.
///
/// This type is a value with no atomics: ``MultishotStorage`` performs every transition,
/// each with one RMW on its state word, and asks this type what the state it saw means.
@usableFromInline
@frozen
struct MultishotState: Hashable, Sendable {
    @usableFromInline var bits: UInt

    @inlinable init(bits: UInt) { self.bits = bits }

    @usableFromInline static let valueBit: UInt = 1 << 0
    @usableFromInline static let openBit: UInt = 1 << 1
    @usableFromInline static let waitingBit: UInt = 1 << 2
    @usableFromInline static let goneBit: UInt = 1 << 3

    /// Subtracted by a send: turns `open` into `value`.
    @usableFromInline static let sendDelta: UInt = openBit - valueBit
    /// Subtracted by a sender released without sending: clears `open`.
    @usableFromInline static let dropDelta: UInt = openBit

    @inlinable var hasValue: Bool { bits & Self.valueBit != 0 }
    @inlinable var isOpen: Bool { bits & Self.openBit != 0 }
    @inlinable var isWaiting: Bool { bits & Self.waitingBit != 0 }
    @inlinable var isReceiverGone: Bool { bits & Self.goneBit != 0 }

    /// Whether the receiver may make a new sender: no live unsent sender. (A value sent but
    /// not received is discarded by the new round, as in multishot.)
    @inlinable var canMakeSender: Bool { !isOpen }

    /// The state of a fresh round with a new live sender.
    @inlinable static var newRound: MultishotState { MultishotState(bits: openBit) }

    /// The state after the receiver took the value: empty, also clearing a `waiting` left by
    /// the sender that took the receiver's continuation.
    @inlinable var afterTake: MultishotState { MultishotState(bits: bits & Self.goneBit) }

    /// What a receive does in this state.
    @usableFromInline
    @frozen
    enum ReceiveAction: Sendable, Hashable {
        /// Take the value (CAS the state to ``afterTake`` first).
        case take
        /// No live sender and no value: the sender was released without sending, or none
        /// was made.
        case closed
        /// A live sender has not sent yet: wait.
        case wait
    }

    @inlinable var receiveAction: ReceiveAction {
        if hasValue { return .take }
        return isOpen ? .wait : .closed
    }

    /// Whether the party whose RMW returned this (old) state and cleared `waiting` (the
    /// cancellation) now owns the registered continuation.
    @inlinable var cancellationOwnsWaiter: Bool { isWaiting && isOpen }
    /// Whether the sender whose send/drop RMW returned this (old) state owns the continuation.
    @inlinable var senderOwnsWaiter: Bool { isWaiting }
    /// Whether the receiver whose release RMW returned this (old) state may clear the parked
    /// sender: no live sender is left to touch the slots, so they are the receiver's.
    @inlinable var receiverOwnsSlots: Bool { !isOpen }
}

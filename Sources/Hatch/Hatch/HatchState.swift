/// The shared state word of a hatch and the pure decisions taken on it.
///
/// Layout of the 64-bit word (one `Atomic<UInt64>` in ``HatchStorage``):
///
/// | bits   | meaning                                                          |
/// |--------|------------------------------------------------------------------|
/// | 0      | `locked`: a spin lock guarding the value and the two waiter slots |
/// | 1      | the receiver side is closed                                      |
/// | 2      | the sender side is closed                                        |
/// | 3      | `hasValue`: the slot holds a value (rewritten at every unlock)   |
/// | 8..35  | receiver epoch: bumped when a sender recovers a new receiver     |
/// | 36..63 | sender epoch: bumped when a receiver recovers a new sender       |
///
/// Each endpoint remembers the epoch of its side when it was made. An endpoint whose
/// epoch no longer matches is stale: it behaves as closed and its release does nothing,
/// so it cannot disturb a recovered pair. Epochs wrap after 2^28 recoveries of one side.
///
/// This type is a value with no atomics: the storage reads it under its lock, asks it what
/// to do and performs the answer. It is unit-tested alone.
@usableFromInline
@frozen
struct HatchState: Hashable, Sendable, CustomStringConvertible {
    @usableFromInline var bits: UInt64

    @inlinable init(bits: UInt64) { self.bits = bits }

    /// The state of a new hatch: both sides open, epochs 0, unlocked.
    @inlinable static var initial: HatchState { HatchState(bits: 0) }

    @usableFromInline static let lockedBit: UInt64 = 1 << 0
    @usableFromInline static let receiverClosedBit: UInt64 = 1 << 1
    @usableFromInline static let senderClosedBit: UInt64 = 1 << 2
    @usableFromInline static let valueBit: UInt64 = 1 << 3
    @usableFromInline static let epochMask: UInt64 = (1 << 28) - 1
    @usableFromInline static let receiverEpochShift: UInt64 = 8
    @usableFromInline static let senderEpochShift: UInt64 = 36

    /// One end of the hatch.
    @usableFromInline
    @frozen
    enum Side: Sendable, Hashable {
        case sender, receiver

        @inlinable var peer: Side { self == .sender ? .receiver : .sender }
    }

    @inlinable var isLocked: Bool { bits & Self.lockedBit != 0 }

    /// Whether the slot held a value when the lock was last released. Read without the
    /// lock it is a hint only; under the lock the storage's `value` itself decides.
    @inlinable var hasValue: Bool { bits & Self.valueBit != 0 }

    /// The state with ``hasValue`` set to `present`.
    @inlinable func withValue(_ present: Bool) -> HatchState {
        HatchState(bits: present ? bits | Self.valueBit : bits & ~Self.valueBit)
    }

    /// Whether a receive at `epoch` has nothing to do but wait: the receiver is open, the
    /// sender is open and the slot is empty. Without the lock, a hint: a `receive()` that
    /// sees it goes straight to its registration, which re-checks under the lock.
    @inlinable func mustWaitToReceive(epoch: UInt64) -> Bool {
        isOpen(.receiver, epoch: epoch) && !isClosed(.sender) && !hasValue
    }

    /// Whether a send at `epoch` would find the slot full: the sender is open, the receiver
    /// is open and the slot held a value at the last unlock. Without the lock, a hint: a
    /// blocking send spins while it holds, and then decides under the lock.
    @inlinable func looksFull(epoch: UInt64) -> Bool {
        isOpen(.sender, epoch: epoch) && !isClosed(.receiver) && hasValue
    }

    @inlinable func closedBit(_ side: Side) -> UInt64 {
        side == .sender ? Self.senderClosedBit : Self.receiverClosedBit
    }

    @inlinable func shift(_ side: Side) -> UInt64 {
        side == .sender ? Self.senderEpochShift : Self.receiverEpochShift
    }

    /// Whether `side`'s current endpoint has closed (explicitly, on release, or by a
    /// close-on-success operation).
    @inlinable func isClosed(_ side: Side) -> Bool { bits & closedBit(side) != 0 }

    /// The epoch of `side`'s current endpoint.
    @inlinable func epoch(_ side: Side) -> UInt64 { (bits >> shift(side)) & Self.epochMask }

    /// Whether the endpoint of `side` made at `epoch` is the current one and still open.
    @inlinable func isOpen(_ side: Side, epoch: UInt64) -> Bool {
        !isClosed(side) && self.epoch(side) == epoch
    }

    /// The state with `side` closed.
    @inlinable func closing(_ side: Side) -> HatchState { HatchState(bits: bits | closedBit(side)) }

    /// The state after a new endpoint replaced the closed `side`: the side reopens with the
    /// next epoch, so any older endpoint of that side is stale from now on.
    @inlinable func recovering(_ side: Side) -> HatchState {
        precondition(isClosed(side), "HatchState: recovering a side that is not closed")
        let next = (epoch(side) &+ 1) & Self.epochMask
        let cleared = bits & ~closedBit(side) & ~(Self.epochMask << shift(side))
        return HatchState(bits: cleared | (next << shift(side)))
    }

    @inlinable var unlocked: HatchState { HatchState(bits: bits & ~Self.lockedBit) }

    @usableFromInline var description: String {
        "HatchState(locked: \(isLocked), hasValue: \(hasValue), senderClosed: \(isClosed(.sender)), receiverClosed: "
            + "\(isClosed(.receiver)), senderEpoch: \(epoch(.sender)), receiverEpoch: \(epoch(.receiver)))"
    }

    // MARK: Decisions

    /// What a send does, decided under the lock.
    @usableFromInline
    @frozen
    enum SendAction: Sendable, Hashable {
        /// Either side is closed (or the sender is stale): hand the value back as closed.
        case closed
        /// The receiver is suspended (so the slot is empty): resume it with the value.
        case handOff
        /// The slot is empty and nobody waits: store the value.
        case store
        /// The slot is full and the sender overwrites: swap the value.
        case replace
        /// The slot is full: hand the value back as full (or wait, for `send`).
        case full
    }

    @inlinable
    func sendAction(epoch: UInt64, slotFull: Bool, receiverWaiting: Bool, overwrites: Bool) -> SendAction {
        guard isOpen(.sender, epoch: epoch), !isClosed(.receiver) else { return .closed }
        if receiverWaiting { return .handOff }
        if !slotFull { return .store }
        return overwrites ? .replace : .full
    }

    /// What a receive does, decided under the lock.
    @usableFromInline
    @frozen
    enum ReceiveAction: Sendable, Hashable {
        /// The receiver is closed or stale, or the sender left and the slot is empty.
        case closed
        /// A value is waiting: take it (it arrives even if the sender has left).
        case take
        /// Empty and the sender is alive: wait (or report empty, for `tryReceive`).
        case empty
    }

    @inlinable
    func receiveAction(epoch: UInt64, slotFull: Bool) -> ReceiveAction {
        guard isOpen(.receiver, epoch: epoch) else { return .closed }
        if slotFull { return .take }
        return isClosed(.sender) ? .closed : .empty
    }

    /// What `waitForReceiver` does, decided under the lock.
    @usableFromInline
    @frozen
    enum LazySendAction: Sendable, Hashable {
        case closed
        /// The receiver waits on an empty slot: the sender may produce its value now.
        case ready
        case wait
    }

    @inlinable
    func lazySendAction(epoch: UInt64, slotFull: Bool, receiverWaiting: Bool) -> LazySendAction {
        guard isOpen(.sender, epoch: epoch), !isClosed(.receiver) else { return .closed }
        return receiverWaiting && !slotFull ? .ready : .wait
    }

    /// What `recover()` from `side` does.
    @usableFromInline
    @frozen
    enum RecoverAction: Sendable, Hashable {
        /// The caller's own endpoint is closed or stale: it has no hatch to recover.
        case callerClosed
        /// The peer is still open.
        case peerLive
        /// Reopen the peer side with a new epoch.
        case recover
    }

    @inlinable
    func recoverAction(from side: Side, epoch: UInt64) -> RecoverAction {
        guard isOpen(side, epoch: epoch) else { return .callerClosed }
        return isClosed(side.peer) ? .recover : .peerLive
    }
}

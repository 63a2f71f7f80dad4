import LoopUtilities
public import Synchronization

/// The sending end of a hatch (see ``makeHatch(of:)``).
///
/// A copyable reference: share it freely, but a hatch has one producer, so at most one call
/// may wait at a time: a task in ``send(_:)``, ``send(_:timeout:)`` or ``waitForReceiver()``,
/// or a thread in ``sendSync(_:)`` (two at once is a programming error that stops the
/// process with a message). Non-suspending calls are
/// allowed from any thread at any time. Releasing the last reference closes the sender side,
/// as ``close()`` does; a value already sent still reaches the receiver.
///
/// Costs: every operation is one atomic read-modify-write (taking the hatch's spin lock) and
/// one releasing store (dropping it), plus reading this endpoint's options (a relaxed load).
public final class HatchSender<Value: Sendable>: Sendable {
    @usableFromInline let storage: HatchStorage<Value>
    /// The sender epoch this endpoint was made for; stale once a receiver recovers a new sender.
    @usableFromInline let epoch: UInt64
    /// ``overwrites`` and ``closesOnSend``. Relaxed: independent flags with nothing to order.
    @usableFromInline let options: Atomic<UInt8>

    @usableFromInline static var overwritesBit: UInt8 { 1 }
    @usableFromInline static var closesOnSendBit: UInt8 { 2 }

    @inlinable
    init(storage: HatchStorage<Value>, epoch: UInt64, options: UInt8 = 0) {
        self.storage = storage
        self.epoch = epoch
        self.options = Atomic(options)
    }

    deinit {
        // Borrowed without a retain: `self` holds `storage` until its stored properties are
        // destroyed, after this body returns, so the reference stays valid throughout.
        withUnretainedReference(Unmanaged.passUnretained(storage)) { $0.close(.sender, epoch: epoch) }
    }

    /// Sends now if there is room (async-hatch's `now()`). Callable from any thread.
    ///
    /// If the receiver is suspended in ``HatchReceiver/receive()``, the value goes straight
    /// to it and its task is resumed (through its executor: a task on a `Dispatcher` wakes
    /// through the dispatcher's inbox). Cost: 1 RMW + 1 store, no allocation.
    ///
    /// - Parameter value: the value to send.
    /// - Returns: nil, or in ``overwrites`` mode the unreceived value that was replaced.
    /// - Throws: ``HatchSendError/full(_:)`` when the slot holds a value and the sender does
    ///   not overwrite; ``HatchSendError/closed(_:)`` when either side is closed. Both carry
    ///   `value` back.
    @inlinable
    @discardableResult
    public func trySend(_ value: Value) throws(HatchSendError<Value>) -> Value? {
        let options = options.load(ordering: .relaxed)
        return try storage.trySend(
            value,
            epoch: epoch,
            overwrites: options & Self.overwritesBit != 0,
            closes: options & Self.closesOnSendBit != 0
        )
    }

    /// Sends, waiting while the slot holds an unreceived value.
    ///
    /// Waits for room even in ``overwrites`` mode (as async-hatch does): use ``trySend(_:)``
    /// to overwrite. Callable from any task, one at a time: a hatch has a single producer,
    /// and a second `send`/``waitForReceiver()`` suspended at once stops the process with a
    /// message. Runs on the caller's executor (`nonisolated(nonsending)`). Cost without
    /// waiting: 1 RMW + 1 store; each wait adds 2 more lock round trips (register, re-check).
    ///
    /// - Parameter value: the value to send.
    /// - Throws: ``HatchSendError/closed(_:)`` when either side is closed (also if it closes
    ///   while this call waits). If the task is cancelled while the slot is still full, the
    ///   call stops waiting and throws ``HatchSendError/cancelled(_:)``: nothing was sent and
    ///   the hatch is unchanged and open. Both carry `value` back.
    @inlinable
    nonisolated(nonsending) public func send(_ value: Value) async throws(HatchSendError<Value>) {
        var value = value
        while true {
            let closes = options.load(ordering: .relaxed) & Self.closesOnSendBit != 0
            do {
                _ = try storage.trySend(value, epoch: epoch, overwrites: false, closes: closes)
                return
            } catch {
                switch error {
                case .full(let back): value = back
                // trySend throws only .full or .closed.
                case .closed, .cancelled, .timedOut, .wouldBlockLoop: throw error
                }
            }
            if Task.isCancelled { throw .cancelled(value) }
            await storage.waitAsSender(epoch: epoch, for: .space)
        }
    }

    /// Waits until the receiver is suspended in ``HatchReceiver/receive()`` on an empty slot:
    /// the lazy send, for values that are expensive to produce.
    ///
    /// After it returns, ``trySend(_:)`` delivers straight to the waiting receiver (unless
    /// that receive is cancelled meanwhile). Callable from any task, one at a time (see
    /// ``send(_:)``); runs on the caller's executor (`nonisolated(nonsending)`). Cost when the
    /// receiver already waits: 1 RMW + 1 store.
    ///
    /// - Throws: ``HatchClosedError/closed`` when either side is closed or closes while this
    ///   call waits (no receive can come any more). When the task is cancelled before the
    ///   receiver waits, the call stops waiting and throws `CancellationError`; the hatch is
    ///   unchanged and open.
    nonisolated(nonsending) public func waitForReceiver() async throws {
        while true {
            switch storage.lazySendAction(epoch: epoch) {
            case .closed: throw HatchClosedError.closed
            case .ready: return
            case .wait: break
            }
            if Task.isCancelled { throw CancellationError() }
            await storage.waitAsSender(epoch: epoch, for: .receiver)
        }
    }

    /// Whether ``trySend(_:)`` replaces an unreceived value instead of failing with `.full`.
    /// Default false. Readable and settable from any thread.
    public var overwrites: Bool {
        get { options.load(ordering: .relaxed) & Self.overwritesBit != 0 }
        set { set(Self.overwritesBit, newValue) }
    }

    /// Whether the next successful send also closes the sender side (``makeOneshot(of:)``
    /// sets it). Default false. Readable and settable from any thread.
    public var closesOnSend: Bool {
        get { options.load(ordering: .relaxed) & Self.closesOnSendBit != 0 }
        set { set(Self.closesOnSendBit, newValue) }
    }

    private func set(_ bit: UInt8, _ on: Bool) {
        // Relaxed: see `options`.
        if on {
            options.bitwiseOr(bit, ordering: .relaxed)
        } else {
            options.bitwiseAnd(~bit, ordering: .relaxed)
        }
    }

    /// Closes the sender side; idempotent, callable from any thread. A value already in the
    /// hatch stays receivable. Wakes a suspended receive (which then gets that value or
    /// ``HatchClosedError/closed``) and any call suspended on this sender. Cost: 1 RMW + 1 store.
    public func close() {
        storage.close(.sender, epoch: epoch)
    }

    /// Whether either side is closed, or this sender is stale (a snapshot; 1 acquiring load).
    /// Readable from any thread.
    public var isClosed: Bool {
        let s = storage.snapshot()
        return !s.isOpen(.sender, epoch: epoch) || s.isClosed(.receiver)
    }

    /// Makes a new receiver on the same storage once the old one is closed or released.
    ///
    /// Allocates only the small endpoint object; the hatch storage is reused. The old
    /// receiver becomes stale: its later use or release does not touch the new pair.
    /// Callable from any thread. Cost: 1 RMW + 1 store.
    ///
    /// - Returns: a new, open receiver.
    /// - Throws: ``HatchRecoverError/live`` when the receiver is still open;
    ///   ``HatchRecoverError/closed`` when this sender is itself closed or stale.
    public func recover() throws(HatchRecoverError) -> HatchReceiver<Value> {
        let receiverEpoch = try storage.recover(from: .sender, epoch: epoch)
        return HatchReceiver(storage: storage, epoch: receiverEpoch)
    }
}

import LoopUtilities
public import Synchronization

/// The receiving end of a hatch (see ``makeHatch(of:)``).
///
/// A copyable reference: share it freely, but a hatch has one consumer, so at most one call
/// may wait at a time: a task in ``receive()`` or ``receive(timeout:)``, or a thread in
/// ``receiveSync()`` (two at once is a programming error that stops the process with a
/// message). ``tryReceive()`` is allowed from any thread at any time. Releasing the last
/// reference closes the receiver side, as ``close()`` does.
///
/// Costs: every operation is one atomic read-modify-write (taking the hatch's spin lock) and
/// one releasing store (dropping it).
public final class HatchReceiver<Value: Sendable>: Sendable {
    @usableFromInline let storage: HatchStorage<Value>
    /// The receiver epoch this endpoint was made for; stale once a sender recovers a new receiver.
    @usableFromInline let epoch: UInt64
    /// ``closesOnReceive``. Relaxed: an independent flag with nothing to order.
    @usableFromInline let closesFlag: Atomic<Bool>

    @inlinable
    init(storage: HatchStorage<Value>, epoch: UInt64, closesOnReceive: Bool = false) {
        self.storage = storage
        self.epoch = epoch
        self.closesFlag = Atomic(closesOnReceive)
    }

    deinit {
        // Borrowed without a retain: `self` holds `storage` until its stored properties are
        // destroyed, after this body returns, so the reference stays valid throughout.
        withUnretainedReference(Unmanaged.passUnretained(storage)) { $0.close(.receiver, epoch: epoch) }
    }

    /// Receives the value, waiting for one if the hatch is empty.
    ///
    /// Callable from any task, one at a time: a hatch has a single consumer, and a second
    /// `receive()` suspended at once stops the process with a message. Runs on the caller's
    /// executor (`nonisolated(nonsending)`); the sender resumes it with the value directly,
    /// from any thread (a task on a `Dispatcher` wakes through the dispatcher's inbox).
    /// Cost with a value present: 1 load, 1 RMW + 1 store. Waiting on an empty hatch:
    /// a spin of about a microsecond for a value (not on a loop that has other ready work),
    /// then 2 lock round trips (one to register, one by the sender to hand over), no
    /// allocation.
    ///
    /// - Returns: the value. A value sent before the sender closed still arrives.
    /// - Throws: ``HatchClosedError/closed`` when this receiver is closed or stale, or the
    ///   sender is closed and the hatch is empty. When the task is cancelled while waiting,
    ///   the call stops waiting and throws `CancellationError`: no value is consumed (one
    ///   that arrived first is returned instead) and the hatch stays open.
    @inlinable
    nonisolated(nonsending) public func receive() async throws -> Value {
        while true {
            let closes = closesFlag.load(ordering: .relaxed)
            // An empty, open hatch goes straight to the registration, which re-checks under
            // the lock: one lock round trip per wait instead of two.
            if !storage.looksEmpty(epoch: epoch) || storage.spinWhileEmpty(epoch: epoch),
                let value = try storage.tryReceive(epoch: epoch, closes: closes)
            {
                return value
            }
            switch await storage.waitAsReceiver(epoch: epoch, closes: closes) {
            case .value(let value): return value
            case .cancelled: throw CancellationError()
            case .recheck: continue
            }
        }
    }

    /// Receives a value if there is one, without waiting. Callable from any thread.
    ///
    /// Cost: 1 RMW + 1 store; wakes a sender waiting for room.
    ///
    /// - Returns: the value, or nil when the hatch is empty and the sender is open.
    /// - Throws: ``HatchClosedError/closed`` when this receiver is closed or stale, or the
    ///   sender is closed and the hatch is empty.
    @inlinable
    public func tryReceive() throws(HatchClosedError) -> Value? {
        try storage.tryReceive(epoch: epoch, closes: closesFlag.load(ordering: .relaxed))
    }

    /// Whether the next successful receive also closes the receiver side (``makeOneshot(of:)``
    /// sets it). Default false. Readable and settable from any thread.
    public var closesOnReceive: Bool {
        get { closesFlag.load(ordering: .relaxed) }
        set { closesFlag.store(newValue, ordering: .relaxed) }
    }

    /// Closes the receiver side; idempotent, callable from any thread. Drops an unreceived
    /// value, wakes a sender waiting in `send`/`waitForReceiver` (it then fails as closed) and
    /// a receive suspended on this receiver (it throws ``HatchClosedError/closed``).
    /// Cost: 1 RMW + 1 store.
    public func close() {
        storage.close(.receiver, epoch: epoch)
    }

    /// Whether either side is closed, or this receiver is stale (a snapshot; 1 acquiring load).
    /// A closed sender may still have left a value to receive. Readable from any thread.
    public var isClosed: Bool {
        let s = storage.snapshot()
        return !s.isOpen(.receiver, epoch: epoch) || s.isClosed(.sender)
    }

    /// Makes a new sender on the same storage once the old one is closed or released.
    ///
    /// Allocates only the small endpoint object; the hatch storage is reused, and a value
    /// the old sender left stays receivable. The old sender becomes stale: its later use or
    /// release does not touch the new pair. Callable from any thread. Cost: 1 RMW + 1 store.
    ///
    /// - Returns: a new, open sender with default options.
    /// - Throws: ``HatchRecoverError/live`` when the sender is still open;
    ///   ``HatchRecoverError/closed`` when this receiver is itself closed or stale.
    public func recover() throws(HatchRecoverError) -> HatchSender<Value> {
        let senderEpoch = try storage.recover(from: .receiver, epoch: epoch)
        return HatchSender(storage: storage, epoch: senderEpoch)
    }
}

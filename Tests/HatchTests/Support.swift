import LoopTestSupport
import Synchronization

@testable import Hatch

extension HatchReceiver {
    /// Whether a `receive()` is suspended on this hatch (test inspection, under the lock).
    var hasSuspendedReceive: Bool {
        let s = storage.lock()
        defer { storage.unlock(s) }
        return storage.receiverWaiter != nil
    }
}

extension HatchSender {
    /// Whether a `send`/`waitForReceiver()` is suspended on this hatch.
    var hasSuspendedSend: Bool {
        let s = storage.lock()
        defer { storage.unlock(s) }
        return storage.senderWaiter != nil
    }
    var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension HatchReceiver {
    var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension MultishotReceiver {
    var isWaiting: Bool { MultishotState(bits: storage.state.load(ordering: .acquiring)).isWaiting }
    var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension WakeSink {
    var hasWaiter: Bool { slot.load(ordering: .acquiring) != 0 }
}

/// A class value whose deinit is counted, to catch lost or duplicated values.
final class Tracked: Sendable {
    let id: Int
    let live: Counter?
    /// - Parameter live: counts the instances alive (per test: tests run in parallel).
    init(_ id: Int, live: Counter? = nil) {
        self.id = id
        self.live = live
        live?.add(1)
    }
    deinit { live?.add(-1) }
}

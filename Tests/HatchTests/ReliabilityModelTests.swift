import Hatch
import LoopTestSupport
import Testing

/// Model-based test of the hatch: random operations on every endpoint ever made (current,
/// stale after a recovery, closed, released), checked against a reference model of the slot,
/// the two closed flags and the two epochs. Only operations that cannot suspend are issued.
/// Failures print the seed; `LOOPCHANNELS_SEED=<seed>` replays it.
@Suite("Reliability: hatch model", .stressTimeLimit(quick: 5))
struct ReliabilityHatchModelTests {
    struct Model: CustomStringConvertible {
        var slot: Int? = nil
        var senderClosed = false
        var receiverClosed = false
        var senderEpoch = 0
        var receiverEpoch = 0

        func senderOpen(_ epoch: Int) -> Bool { !senderClosed && senderEpoch == epoch }
        func receiverOpen(_ epoch: Int) -> Bool { !receiverClosed && receiverEpoch == epoch }

        var description: String {
            "slot \(slot.map(String.init) ?? "-"), sender \(senderClosed ? "closed" : "open")#\(senderEpoch), "
                + "receiver \(receiverClosed ? "closed" : "open")#\(receiverEpoch)"
        }
    }

    final class SenderEndpoint {
        let sender: HatchSender<Tracked>
        let epoch: Int
        init(_ sender: HatchSender<Tracked>, epoch: Int) {
            self.sender = sender
            self.epoch = epoch
        }
    }

    final class ReceiverEndpoint {
        let receiver: HatchReceiver<Tracked>
        let epoch: Int
        init(_ receiver: HatchReceiver<Tracked>, epoch: Int) {
            self.receiver = receiver
            self.epoch = epoch
        }
    }

    static func sendResult(_ body: () throws(HatchSendError<Tracked>) -> Tracked?) -> Result<
        Int?, HatchSendError<Tracked>
    > {
        do throws(HatchSendError<Tracked>) { return .success(try body()?.id) } catch { return .failure(error) }
    }

    /// How a wait ended: with its value, or with what it threw.
    enum WaitEnd: Equatable {
        case value(Int?)
        /// `HatchClosedError.closed`.
        case closed
        /// `CancellationError`.
        case cancelled
        case other(String)
    }

    static func waitEnd(_ body: () async throws -> Int?) async -> WaitEnd {
        do {
            return .value(try await body())
        } catch let error as HatchClosedError where error == .closed {
            return .closed
        } catch is CancellationError {
            return .cancelled
        } catch {
            return .other("\(error)")
        }
    }

    @Test func hatchMatchesASlotModel() async throws {
        for seed in reliabilitySeeds(8) {
            var rng = SeededRandom(seed: seed)
            for _ in 0..<(20 * stressFactor) {
                let live = Counter()
                let oneshot = rng.oneIn(4)
                var senders: [SenderEndpoint] = []
                var receivers: [ReceiverEndpoint] = []
                do {  // the arrays hold the only references, so that a release closes a side
                    let (s, r) = oneshot ? makeOneshot(of: Tracked.self) : makeHatch(of: Tracked.self)
                    senders.append(SenderEndpoint(s, epoch: 0))
                    receivers.append(ReceiverEndpoint(r, epoch: 0))
                }
                var model = Model()
                var next = 0
                for step in 0..<150 {
                    let op = rng.next() % 13
                    let context = "step \(step), op \(op), \(model); \(replayHint(seed))"
                    try #require(live.value == (model.slot == nil ? 0 : 1), "live values; \(context)")
                    var se = senders.isEmpty ? nil : senders[Int(rng.next() % UInt64(senders.count))]
                    var re = receivers.isEmpty ? nil : receivers[Int(rng.next() % UInt64(receivers.count))]
                    switch op {
                    case 0, 1:  // trySend
                        guard let se else { break }
                        next += 1
                        let id = next
                        let overwrites = se.sender.overwrites
                        let closes = se.sender.closesOnSend
                        let result = Self.sendResult { () throws(HatchSendError<Tracked>) in
                            try se.sender.trySend(Tracked(id, live: live))
                        }
                        if !model.senderOpen(se.epoch) || model.receiverClosed {
                            guard case .failure(.closed(let back)) = result, back.id == id else {
                                Issue.record("trySend \(result) should be closed; \(context)")
                                return
                            }
                        } else if model.slot != nil && !overwrites {
                            guard case .failure(.full(let back)) = result, back.id == id else {
                                Issue.record("trySend \(result) should be full; \(context)")
                                return
                            }
                        } else {
                            guard case .success(let old) = result, old == model.slot else {
                                Issue.record(
                                    "trySend \(result) should replace \(String(describing: model.slot)); \(context)")
                                return
                            }
                            model.slot = id
                            if closes { model.senderClosed = true }
                        }
                    case 2:  // send that cannot suspend (the slot is empty or the send fails at once)
                        guard let se, model.slot == nil || !model.senderOpen(se.epoch) || model.receiverClosed else {
                            break
                        }
                        next += 1
                        let id = next
                        let closes = se.sender.closesOnSend
                        let failed: HatchSendError<Tracked>?
                        do throws(HatchSendError<Tracked>) {
                            try await se.sender.send(Tracked(id, live: live))
                            failed = nil
                        } catch {
                            failed = error
                        }
                        if !model.senderOpen(se.epoch) || model.receiverClosed {
                            guard case .closed(let back) = failed, back.id == id else {
                                Issue.record("send \(String(describing: failed)) should be closed; \(context)")
                                return
                            }
                        } else {
                            try #require(failed == nil, "send failed: \(String(describing: failed)); \(context)")
                            model.slot = id
                            if closes { model.senderClosed = true }
                        }
                    case 3, 4:  // tryReceive
                        guard let re else { break }
                        let closes = re.receiver.closesOnReceive
                        let result = Result { () throws(HatchClosedError) in try re.receiver.tryReceive()?.id }
                        if !model.receiverOpen(re.epoch) || (model.slot == nil && model.senderClosed) {
                            try #require(result == .failure(.closed), "tryReceive \(result); \(context)")
                        } else {
                            try #require(result == .success(model.slot), "tryReceive \(result); \(context)")
                            if model.slot != nil && closes { model.receiverClosed = true }
                            model.slot = nil
                        }
                    case 5:  // receive that cannot suspend, sometimes in a cancelled task
                        guard let re else { break }
                        let cancelled = rng.oneIn(2)
                        let canSuspend = model.receiverOpen(re.epoch) && model.slot == nil && !model.senderClosed
                        if canSuspend && !cancelled { break }
                        let closes = re.receiver.closesOnReceive
                        let receiver = re.receiver
                        let result = await Task { () -> WaitEnd in
                            if cancelled { withUnsafeCurrentTask { $0?.cancel() } }
                            return await Self.waitEnd { try await receiver.receive().id }
                        }.value
                        if !model.receiverOpen(re.epoch) || (model.slot == nil && model.senderClosed) {
                            try #require(result == .closed, "receive \(result); \(context)")
                        } else if let slot = model.slot {
                            try #require(result == .value(slot), "receive \(result); \(context)")
                            if closes { model.receiverClosed = true }
                            model.slot = nil
                        } else {
                            try #require(result == .cancelled, "cancelled receive \(result); \(context)")
                        }
                    case 6:  // waitForReceiver: only when it fails at once (nobody receives here)
                        guard let se, !model.senderOpen(se.epoch) || model.receiverClosed else { break }
                        let sender = se.sender
                        let result = await Task { () -> WaitEnd in
                            await Self.waitEnd {
                                try await sender.waitForReceiver()
                                return nil
                            }
                        }.value
                        try #require(result == .closed, "waitForReceiver \(String(describing: result)); \(context)")
                    case 7:  // close an endpoint
                        if rng.oneIn(2), let se {
                            se.sender.close()
                            if model.senderOpen(se.epoch) { model.senderClosed = true }
                        } else if let re {
                            re.receiver.close()
                            if model.receiverOpen(re.epoch) {
                                model.receiverClosed = true
                                model.slot = nil
                            }
                        }
                    case 8:  // release an endpoint: the last reference closes its side
                        se = nil
                        re = nil
                        if rng.oneIn(2), !senders.isEmpty {
                            let epoch = senders.remove(at: Int(rng.next() % UInt64(senders.count))).epoch
                            if model.senderOpen(epoch) { model.senderClosed = true }
                        } else if !receivers.isEmpty {
                            let epoch = receivers.remove(at: Int(rng.next() % UInt64(receivers.count))).epoch
                            if model.receiverOpen(epoch) {
                                model.receiverClosed = true
                                model.slot = nil
                            }
                        }
                    case 9:  // recover from either side
                        if rng.oneIn(2), let se {
                            let result = Result { () throws(HatchRecoverError) in try se.sender.recover() }
                            if !model.senderOpen(se.epoch) {
                                try #require(throws: HatchRecoverError.closed, "\(context)") { try result.get() }
                            } else if !model.receiverClosed {
                                try #require(throws: HatchRecoverError.live, "\(context)") { try result.get() }
                            } else {
                                model.receiverEpoch += 1
                                model.receiverClosed = false
                                receivers.append(ReceiverEndpoint(try result.get(), epoch: model.receiverEpoch))
                            }
                        } else if let re {
                            let result = Result { () throws(HatchRecoverError) in try re.receiver.recover() }
                            if !model.receiverOpen(re.epoch) {
                                try #require(throws: HatchRecoverError.closed, "\(context)") { try result.get() }
                            } else if !model.senderClosed {
                                try #require(throws: HatchRecoverError.live, "\(context)") { try result.get() }
                            } else {
                                model.senderEpoch += 1
                                model.senderClosed = false
                                senders.append(SenderEndpoint(try result.get(), epoch: model.senderEpoch))
                            }
                        }
                    case 10:  // options
                        se?.sender.overwrites = rng.oneIn(2)
                        se?.sender.closesOnSend = rng.oneIn(4)
                        re?.receiver.closesOnReceive = rng.oneIn(4)
                    default:
                        break
                    }
                    for endpoint in senders {
                        let expected = !model.senderOpen(endpoint.epoch) || model.receiverClosed
                        try #require(endpoint.sender.isClosed == expected, "sender isClosed; \(context)")
                    }
                    for endpoint in receivers {
                        let expected = !model.receiverOpen(endpoint.epoch) || model.senderClosed
                        try #require(endpoint.receiver.isClosed == expected, "receiver isClosed; \(context)")
                    }
                }
            }
        }
    }
}

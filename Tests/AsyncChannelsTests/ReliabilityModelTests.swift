import AsyncChannels
import LoopTestSupport
import Testing

/// Model-based tests: random operation sequences on a channel, each result compared with a
/// reference model (an array queue, a capacity and a closed flag). Only operations that
/// cannot suspend are issued (a receive only when the model has an element or is closed, a
/// suspending send only when there is room or the channel is closed), so one task drives the
/// whole sequence. Failures print the seed; `LOOPCHANNELS_SEED=<seed>` replays it.
@Suite("Reliability: channel models", .stressTimeLimit(quick: 5))
struct ReliabilityModelTests {
    struct Model {
        var queue: [Int] = []
        var closed = false
        var capacity = Int.max

        var isFull: Bool { queue.count >= capacity }
    }

    /// Runs `body` in a task that is already cancelled.
    static func inCancelledTask<T: Sendable>(_ body: sending @escaping () async -> T) async -> T {
        await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await body()
        }.value
    }

    /// The error `body` threw, or nil.
    static func failure(_ body: () throws(ChannelSendError<Payload>) -> Void) -> ChannelSendError<Payload>? {
        do throws(ChannelSendError<Payload>) {
            try body()
            return nil
        } catch {
            return error
        }
    }

    /// The error `body` threw, or nil.
    static func failure(
        _ body: () async throws(ChannelSendError<Payload>) -> Void
    ) async -> ChannelSendError<Payload>? {
        do throws(ChannelSendError<Payload>) {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func asyncChannelMatchesAQueueModel() async throws {
        for seed in reliabilitySeeds(8) {
            var rng = SeededRandom(seed: seed)
            for _ in 0..<(20 * stressFactor) {
                let live = LiveCounter()
                let channel = AsyncChannel<Payload>()
                var model = Model()
                var next = 0
                for step in 0..<200 {
                    let context = "step \(step), model \(model); \(replayHint(seed))"
                    try #require(live.live == model.queue.count, "live payloads; \(context)")
                    switch rng.next() % 10 {
                    case 0, 1:  // send
                        next += 1
                        if let error = Self.failure({ () throws(ChannelSendError<Payload>) in
                            try channel.send(Payload(next, counter: live))
                        }) {
                            try #require(model.closed && error.reason == .closed, "\(context)")
                            try #require(error.element.value == next, "the element is handed back; \(context)")
                        } else {
                            try #require(!model.closed, "send succeeded on a closed channel; \(context)")
                            model.queue.append(next)
                        }
                    case 2:  // tryReceive
                        try #require(channel.tryReceive()?.value == model.queue.first, "tryReceive; \(context)")
                        if !model.queue.isEmpty { model.queue.removeFirst() }
                    case 3 where !model.queue.isEmpty || model.closed:  // receive that cannot suspend
                        do {
                            let value = try await channel.receive().value
                            try #require(value == model.queue.first, "receive; \(context)")
                            model.queue.removeFirst()
                        } catch {
                            try #require(model.queue.isEmpty && model.closed, "receive threw \(error); \(context)")
                            try #require(error as? ChannelError == .closed, "\(context)")
                        }
                    case 4 where !model.queue.isEmpty || model.closed:  // receiveSync that cannot block
                        switch Result(catching: { () throws(ChannelError) in try channel.receiveSync().value }) {
                        case .success(let value):
                            try #require(value == model.queue.first, "receiveSync; \(context)")
                            model.queue.removeFirst()
                        case .failure(let error):
                            try #require(model.queue.isEmpty && model.closed && error == .closed, "\(context)")
                        }
                    case 5 where !model.queue.isEmpty || model.closed:  // for-await iterator
                        var iterator = channel.makeAsyncIterator()
                        let value = await iterator.next()?.value
                        try #require(value == model.queue.first, "iterator; \(context)")
                        if !model.queue.isEmpty { model.queue.removeFirst() }
                    case 6:  // receive in a cancelled task: returns a queued element or throws, losing nothing
                        let result = await Self.inCancelledTask { () -> Result<Int, any Error> in
                            do { return .success(try await channel.receive().value) } catch { return .failure(error) }
                        }
                        switch result {
                        case .success(let value):
                            try #require(value == model.queue.first, "cancelled receive; \(context)")
                            model.queue.removeFirst()
                        case .failure(let error):
                            let expected = model.queue.isEmpty && (model.closed || error is CancellationError)
                            try #require(expected, "cancelled receive threw \(error); \(context)")
                        }
                    case 7 where rng.oneIn(4):
                        channel.close()
                        model.closed = true
                    default:
                        break
                    }
                    try #require(channel.count == model.queue.count, "count; \(context)")
                    try #require(channel.isClosed == model.closed, "isClosed; \(context)")
                }
            }
        }
    }

    @Test func boundedChannelMatchesAQueueModel() async throws {
        for seed in reliabilitySeeds(8) {
            var rng = SeededRandom(seed: seed)
            for _ in 0..<(20 * stressFactor) {
                let live = LiveCounter()
                let capacity = Int(rng.next() % 4) + 1
                let channel = try BoundedAsyncChannel<Payload>(capacity: capacity)
                var model = Model(capacity: capacity)
                var next = 0
                for step in 0..<200 {
                    let context = "step \(step), model \(model); \(replayHint(seed))"
                    try #require(live.live == model.queue.count, "live payloads; \(context)")
                    switch rng.next() % 11 {
                    case 0, 1:  // trySend
                        next += 1
                        if let error = Self.failure({ () throws(ChannelSendError<Payload>) in
                            try channel.trySend(Payload(next, counter: live))
                        }) {
                            let reason: ChannelError = model.closed ? .closed : .full
                            try #require(model.closed || model.isFull, "trySend failed; \(context)")
                            try #require(error.reason == reason && error.element.value == next, "\(context)")
                        } else {
                            try #require(!model.closed && !model.isFull, "trySend succeeded; \(context)")
                            model.queue.append(next)
                        }
                    case 2 where !model.isFull || model.closed:  // send that cannot suspend
                        next += 1
                        if let error = await Self.failure({ () async throws(ChannelSendError<Payload>) in
                            try await channel.send(Payload(next, counter: live))
                        }) {
                            try #require(model.closed && error.reason == .closed && error.element.value == next)
                        } else {
                            try #require(!model.closed, "send succeeded on a closed channel; \(context)")
                            model.queue.append(next)
                        }
                    case 3 where !model.isFull || model.closed:  // sendSync that cannot block
                        next += 1
                        if let error = Self.failure({ () throws(ChannelSendError<Payload>) in
                            try channel.sendSync(Payload(next, counter: live))
                        }) {
                            try #require(model.closed && error.reason == .closed && error.element.value == next)
                        } else {
                            try #require(!model.closed, "sendSync succeeded on a closed channel; \(context)")
                            model.queue.append(next)
                        }
                    case 4:  // send in a cancelled task: succeeds when there is room, else hands back
                        next += 1
                        let id = next
                        // Only the reason and the value leave the task: a payload in the task's
                        // result would live until the runtime drops the task object, which can be
                        // just after `.value` returns, and upset the live count.
                        let result = await Self.inCancelledTask { () -> (reason: ChannelError, value: Int)? in
                            do throws(ChannelSendError<Payload>) {
                                try await channel.send(Payload(id, counter: live))
                                return nil
                            } catch {
                                return (error.reason, error.element.value)
                            }
                        }
                        if let error = result {
                            let reason: ChannelError = model.closed ? .closed : .cancelled
                            try #require(model.closed || model.isFull, "cancelled send failed; \(context)")
                            try #require(error.reason == reason && error.value == id, "\(context)")
                        } else {
                            try #require(!model.closed && !model.isFull, "cancelled send succeeded; \(context)")
                            model.queue.append(id)
                        }
                    case 5:  // tryReceive
                        try #require(channel.tryReceive()?.value == model.queue.first, "tryReceive; \(context)")
                        if !model.queue.isEmpty { model.queue.removeFirst() }
                    case 6 where !model.queue.isEmpty || model.closed:  // receive that cannot suspend
                        do {
                            try #require(try await channel.receive().value == model.queue.first, "receive; \(context)")
                            model.queue.removeFirst()
                        } catch {
                            try #require(model.queue.isEmpty && model.closed, "receive threw \(error); \(context)")
                        }
                    case 7 where !model.queue.isEmpty || model.closed:  // receiveSync that cannot block
                        switch Result(catching: { () throws(ChannelError) in try channel.receiveSync().value }) {
                        case .success(let value):
                            try #require(value == model.queue.first, "receiveSync; \(context)")
                            model.queue.removeFirst()
                        case .failure(let error):
                            try #require(model.queue.isEmpty && model.closed && error == .closed, "\(context)")
                        }
                    case 8 where rng.oneIn(4):
                        channel.close()
                        model.closed = true
                    default:
                        break
                    }
                    try #require(channel.count == model.queue.count, "count; \(context)")
                    try #require(channel.isClosed == model.closed, "isClosed; \(context)")
                    try #require(channel.capacity == capacity, "capacity; \(context)")
                }
            }
        }
    }
}

import AsyncChannels
import EventLoop
import Hatch

/// The jobs in flight on one event loop: at most `capacity` of them, each completed through
/// a reusable multishot slot.
///
/// Job `id` uses slot `id % capacity`. A job enters with ``open(_:)``, which waits while
/// `capacity` jobs are in flight (backpressure), is completed by ``complete(_:)`` when its
/// result comes back from a worker, and leaves with ``take(_:)``, which waits for that
/// result. Because jobs leave in submission order, slot `id % capacity` is always free again
/// when job `id` enters, and a `MultishotReceiver` recycles its sender: a steady stream of
/// jobs allocates nothing here.
///
/// Loop-owned: call every method from tasks running on `dispatcher`.
final class CompletionWindow: @unchecked Sendable {
    let capacity: Int
    private let dispatcher: Dispatcher
    /// One per slot; only ``take(_:)`` waits on them, one job at a time.
    private let receivers: [MultishotReceiver<Int>]
    /// The sender of each open slot, until its result arrives. Loop thread only.
    private var senders: [MultishotSender<Int>?]
    /// A counting gate: one element per job in flight, so `send` suspends at `capacity`.
    private let gate: BoundedAsyncChannel<Void>
    /// Jobs between `open` and `take`, and the most seen at once. Loop thread only.
    private var inFlight = 0
    private(set) var maxInFlight = 0
    /// Results that arrived before the result of an earlier job. Loop thread only.
    private(set) var reordered = 0
    private var highestCompleted = -1

    /// Creates an empty window.
    /// - Parameters:
    ///   - capacity: the most jobs in flight at once; at least 1.
    ///   - dispatcher: the loop whose tasks use the window.
    init(capacity: Int, on dispatcher: Dispatcher) throws {
        self.capacity = capacity
        self.dispatcher = dispatcher
        self.receivers = (0..<capacity).map { _ in MultishotReceiver() }
        self.senders = Array(repeating: nil, count: capacity)
        self.gate = try BoundedAsyncChannel(capacity: capacity)
    }

    /// Admits job `id`, suspending while `capacity` jobs are in flight.
    ///
    /// Call it with ids 0, 1, 2… in order. On cancellation it throws and admits nothing.
    /// - Throws: ``ChannelSendError`` with reason `cancelled` when the task is cancelled
    ///   while it waits.
    func open(_ id: Int) async throws {
        try await gate.send(())
        precondition(dispatcher.inLoop, "CompletionWindow is loop-owned")
        let slot = id % capacity
        guard let sender = receivers[slot].sender() else {
            preconditionFailure("slot \(slot) is still busy when job \(id) enters")
        }
        senders[slot] = sender
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    /// Completes job `result.id` with its value, waking the task in ``take(_:)`` if it waits.
    func complete(_ result: JobResult) {
        precondition(dispatcher.inLoop, "CompletionWindow is loop-owned")
        let slot = result.id % capacity
        guard let sender = senders[slot] else {
            preconditionFailure("result for job \(result.id), which is not in flight")
        }
        senders[slot] = nil  // the receiver can now recycle this sender
        sender.send(result.value)
        if result.id < highestCompleted { reordered += 1 }
        highestCompleted = max(highestCompleted, result.id)
    }

    /// Waits for the value of job `id`, then frees its slot for a waiting ``open(_:)``.
    ///
    /// Call it with ids in submission order, from one task, and only after `open(id)`.
    /// - Throws: `CancellationError` when the task is cancelled while it waits (the job
    ///   stays in flight).
    func take(_ id: Int) async throws -> Int {
        let value = try await receivers[id % capacity].receive()
        precondition(dispatcher.inLoop, "CompletionWindow is loop-owned")
        inFlight -= 1
        _ = gate.tryReceive()
        return value
    }

    /// Whether no job is in flight and every slot is free.
    var isEmpty: Bool { inFlight == 0 && gate.tryReceive() == nil && senders.allSatisfy { $0 == nil } }
}

public import LoopUtilities

/// The state of a ``BoundedAsyncChannel`` as a pure state machine: each event (send,
/// receive, suspend, cancel, close) mutates the state and returns the action the caller
/// performs after it has released the lock (resume a continuation, wake a blocked thread).
///
/// `Receiver` and `Sender` are opaque tokens for waiters (a ``ReceiveWaiter`` or a
/// ``SendWaiter`` in the channel; plain integers in the unit tests). The machine never
/// resumes anything itself, and it knows nothing of cancellation: a cancelled waiter is
/// removed by ``cancelReceive(id:)`` or ``cancelSend(id:)``, whoever notices the
/// cancellation first.
///
/// Invariants:
/// - `elements.count <= capacity`;
/// - receivers wait only while `elements` is empty;
/// - senders wait only while `elements.count == capacity`;
/// - once `isClosed`, nobody waits and nothing is added.
@usableFromInline
struct BoundedChannelStateMachine<Element, Receiver, Sender>: ~Copyable {
    @usableFromInline var elements: RingBuffer<Element>
    @usableFromInline var receivers: RingBuffer<(id: UInt64, token: Receiver)>
    @usableFromInline var senders: RingBuffer<(id: UInt64, token: Sender, element: Element)>
    @usableFromInline let capacity: Int
    @usableFromInline var isClosed = false

    /// A machine for a channel holding at most `capacity` elements (at least 1). The
    /// element ring starts small and grows up to `capacity` as it fills.
    @inlinable
    init(capacity: Int) {
        precondition(capacity >= 1, "a channel's capacity must be at least 1")
        self.capacity = capacity
        elements = RingBuffer(minimumCapacity: min(capacity, 16))
        receivers = RingBuffer(minimumCapacity: 2)
        senders = RingBuffer(minimumCapacity: 2)
    }

    /// Frees the queues, releasing the elements still queued. Call exactly once, when the
    /// channel goes away (waiters cannot exist then: each holds a reference to the channel).
    @usableFromInline
    mutating func releaseStorage() {
        elements.releaseStorage()
        receivers.releaseStorage()
        senders.releaseStorage()
    }

    @inlinable
    var count: Int { elements.count }

    // MARK: Sending

    @usableFromInline
    enum SendAction {
        /// The element is queued; nothing to do.
        case enqueued
        /// Resume this waiting receiver with the element.
        case handOff(Element, to: Receiver)
        /// The channel is full; the element is handed back.
        case full(Element)
        /// The channel is closed; the element is handed back.
        case closed(Element)
    }

    /// A send that does not wait.
    @inlinable
    mutating func send(_ element: consuming Element) -> SendAction {
        if isClosed { return .closed(element) }
        if let receiver = receivers.popFirst() {
            return .handOff(element, to: receiver.token)
        }
        if elements.count < capacity {
            elements.append(element)
            return .enqueued
        }
        return .full(element)
    }

    @usableFromInline
    enum SuspendSendAction {
        case enqueued
        case handOff(Element, to: Receiver)
        case closed(Element)
        /// The sender now waits; its token is resumed later by a receive, close or cancel.
        case suspended
    }

    /// A send that waits for room: registers `token` with the element when full.
    @inlinable
    mutating func sendOrSuspend(_ element: consuming Element, id: UInt64, token: Sender) -> SuspendSendAction {
        switch send(element) {
        case .enqueued: return .enqueued
        case .handOff(let element, let receiver): return .handOff(element, to: receiver)
        case .closed(let element): return .closed(element)
        case .full(let element):
            senders.append((id, token, element))
            return .suspended
        }
    }

    /// A waiting send was cancelled: returns its token and element when it still waited,
    /// nil when a receive or close already resumed it.
    @inlinable
    mutating func cancelSend(id: UInt64) -> (token: Sender, element: Element)? {
        guard let entry = senders.removeFirst(where: { $0.id == id }) else { return nil }
        return (entry.token, entry.element)
    }

    // MARK: Receiving

    @usableFromInline
    enum ReceiveAction {
        /// Here is an element; when a sender waited for room, its element took the freed
        /// slot and this sender must be resumed (successfully).
        case element(Element, resumeSender: Sender?)
        /// Closed and drained.
        case closed
        /// Nothing yet.
        case empty
    }

    /// A receive that does not wait.
    @inlinable
    mutating func receive() -> ReceiveAction {
        guard let element = elements.popFirst() else {
            return isClosed ? .closed : .empty
        }
        // A waiting sender means the buffer was full; its element goes to the back, after
        // everything that was queued before it.
        if let sender = senders.popFirst() {
            elements.append(sender.element)
            return .element(element, resumeSender: sender.token)
        }
        return .element(element, resumeSender: nil)
    }

    @usableFromInline
    enum SuspendReceiveAction {
        case element(Element, resumeSender: Sender?)
        case closed
        /// The receiver now waits; its token is resumed later by a send, close or cancel.
        case suspended
    }

    /// A receive that waits: registers `token` when empty.
    @inlinable
    mutating func receiveOrSuspend(id: UInt64, token: Receiver) -> SuspendReceiveAction {
        switch receive() {
        case .element(let element, let sender): return .element(element, resumeSender: sender)
        case .closed: return .closed
        case .empty:
            receivers.append((id, token))
            return .suspended
        }
    }

    /// A waiting receive was cancelled: returns its token when it still waited, nil when a
    /// send or close already resumed it (then the receive delivers what it got).
    @inlinable
    mutating func cancelReceive(id: UInt64) -> Receiver? {
        receivers.removeFirst(where: { $0.id == id })?.token
    }

    // MARK: Closing

    @usableFromInline
    struct CloseAction {
        /// Waiting receivers: resume each with the closed error.
        @usableFromInline var receivers: [Receiver]
        /// Waiting senders: resume each with the closed error, handing its element back.
        @usableFromInline var senders: [(token: Sender, element: Element)]

        @inlinable
        init(receivers: [Receiver], senders: [(token: Sender, element: Element)]) {
            self.receivers = receivers
            self.senders = senders
        }
    }

    /// Closes the channel: returns everyone who waits, or nil when it was already closed.
    @inlinable
    mutating func close() -> CloseAction? {
        if isClosed { return nil }
        isClosed = true
        // Receivers wait only on an empty channel, so all of them can be told now.
        let waitingReceivers = receivers.removeAll().map(\.token)
        let waitingSenders = senders.removeAll().map { ($0.token, $0.element) }
        return CloseAction(receivers: waitingReceivers, senders: waitingSenders)
    }
}

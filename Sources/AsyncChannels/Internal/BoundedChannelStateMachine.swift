public import EventLoop
public import LoopUtilities

/// A waiter token of the bounded channel's state machine: the machine asks it, under the
/// lock, whether the waiter's operation may be completed now.
@usableFromInline
protocol ChannelWaiterToken {
    /// True when the operation may be completed; false when the waiter is an entry of a
    /// select that has ended, which the machine then drops.
    func claimForCompletion() -> Bool

    /// The select this entry belongs to; nil for a plain waiting task or thread.
    var selectWaiter: _SelectWaiter? { get }
}

/// What a registering select found for one counterpart entry.
@usableFromInline
enum CounterpartClaim {
    /// Both the select and the counterpart are claimed (busy): complete the pair.
    case claimed
    /// The counterpart cannot serve this select (it is the select's own entry, or its select
    /// ended): look at the next one.
    case skip
    /// The registering select itself has ended: stop.
    case selfEnded

    /// Claims the registering select `waiter` together with the counterpart entry's select,
    /// if it has one (in address order, see ``_SelectWaiter/claimTogether(with:)``).
    @inlinable
    init(_ waiter: _SelectWaiter, with counterpart: _SelectWaiter?) {
        guard let counterpart else {
            self = waiter.beginClaim() ? .claimed : .selfEnded
            return
        }
        if counterpart === waiter {
            self = .skip
            return
        }
        switch waiter.claimTogether(with: counterpart) {
        case .both: self = .claimed
        case .selfEnded: self = .selfEnded
        case .otherEnded: self = .skip
        }
    }
}

extension ReceiveWaiter: ChannelWaiterToken {}
extension SendWaiter: ChannelWaiterToken {}

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
/// A waiting entry may belong to a select that has already ended another way: before the
/// machine completes a waiter's operation it asks ``ChannelWaiterToken/claimForCompletion()``,
/// and drops the entry when that fails (it takes nothing from it and serves the next one).
///
/// Invariants:
/// - `elements.count <= capacity`;
/// - receivers wait only while `elements` is empty and no live sender waits;
/// - senders wait only while `elements.count == capacity` and no live receiver waits
///   (capacity 0, the rendezvous channel: senders wait until a receiver takes their element);
/// - once `isClosed`, nobody waits and nothing is added.
/// ("Live": entries of selects that have ended may linger until someone looks at them.)
@usableFromInline
struct BoundedChannelStateMachine<Element, Receiver: ChannelWaiterToken, Sender: ChannelWaiterToken>: ~Copyable {
    @usableFromInline var elements: RingBuffer<Element>
    @usableFromInline var receivers: RingBuffer<(id: UInt64, token: Receiver)>
    @usableFromInline var senders: RingBuffer<(id: UInt64, token: Sender, element: Element)>
    @usableFromInline let capacity: Int
    @usableFromInline var isClosed = false

    /// A machine for a channel holding at most `capacity` elements (0: a rendezvous, where
    /// every send waits for a receiver). The element ring starts small and grows up to
    /// `capacity` as it fills.
    @inlinable
    init(capacity: Int) {
        precondition(capacity >= 0, "a channel's capacity must not be negative")
        self.capacity = capacity
        elements = RingBuffer(minimumCapacity: max(1, min(capacity, 16)))
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
        if let receiver = popLiveReceiver() {
            return .handOff(element, to: receiver)
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
            // A rendezvous (capacity 0): take the element straight from a waiting sender.
            if let sender = popLiveSender() {
                return .element(sender.element, resumeSender: sender.token)
            }
            return isClosed ? .closed : .empty
        }
        // A waiting sender means the buffer was full; its element goes to the back, after
        // everything that was queued before it.
        if let sender = popLiveSender() {
            elements.append(sender.element)
            return .element(element, resumeSender: sender.token)
        }
        return .element(element, resumeSender: nil)
    }

    @usableFromInline
    enum ReceiveManyAction {
        /// This many elements (at least one) were appended; these senders, in the order they
        /// waited, had their elements take the freed slots (or handed them over, at capacity
        /// 0) and must be resumed (successfully).
        case taken(Int, resumeSenders: [Sender])
        /// Closed and drained.
        case closed
        /// Nothing yet.
        case empty
    }

    /// A receive of up to `maxCount` (at least 1) elements that does not wait: the same as
    /// that many ``receive()`` calls in a row, stopping at the first that finds nothing. The
    /// queued elements come first, then (at capacity 0, or when more than `capacity` are
    /// asked for) waiting senders' elements straight from them; then waiting senders fill
    /// the freed slots, so `k` taken elements free `k` slots and resume up to `k` senders.
    @inlinable
    mutating func receive(upTo maxCount: Int, into buffer: inout [Element]) -> ReceiveManyAction {
        var senders: [Sender] = []
        var taken = 0
        while taken < maxCount {
            if let element = elements.popFirst() {
                buffer.append(element)
            } else if let sender = popLiveSender() {
                buffer.append(sender.element)
                senders.append(sender.token)
            } else {
                break
            }
            taken += 1
        }
        if taken == 0 { return isClosed ? .closed : .empty }
        // A waiting sender means the buffer was full; its element goes to the back, after
        // everything that was queued before it.
        while elements.count < capacity, let sender = popLiveSender() {
            elements.append(sender.element)
            senders.append(sender.token)
        }
        return .taken(taken, resumeSenders: senders)
    }

    /// The longest-waiting receiver whose operation may be completed now (claimed, for a
    /// select's entry); entries of ended selects before it are dropped.
    @inlinable
    mutating func popLiveReceiver() -> Receiver? {
        while let receiver = receivers.popFirst() {
            if receiver.token.claimForCompletion() { return receiver.token }
        }
        return nil
    }

    /// The longest-waiting sender whose operation may be completed now, with its element;
    /// entries of ended selects before it are dropped.
    @inlinable
    mutating func popLiveSender() -> (token: Sender, element: Element)? {
        while let sender = senders.popFirst() {
            if sender.token.claimForCompletion() { return (sender.token, sender.element) }
        }
        return nil
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

    // MARK: Selects

    @usableFromInline
    enum SelectReceiveAction {
        /// The select had already ended: nothing was done.
        case decided
        /// The select is claimed (busy) and gets this element; a sender whose element took
        /// the freed slot (or handed it over, at capacity 0) is claimed too and must be
        /// resumed with success.
        case element(Element, resumeSender: Sender?)
        /// The select is claimed (busy): the channel is closed and drained.
        case closed
        /// Nothing to receive: the select's entry is queued.
        case registered
    }

    /// A select's receive case registers: completes it now when an element (or a waiting
    /// sender's, at capacity 0) or the closure is there and the select can still be
    /// claimed; else queues `token`. Never pairs the select with its own entries.
    @inlinable
    mutating func registerSelectReceive(_ waiter: _SelectWaiter, token: Receiver) -> SelectReceiveAction {
        // A waiting sender that is not the select's own, claimed together with the select.
        var search = CounterpartClaim.skip
        let sender = senders.removeFirst { entry in
            if search == .selfEnded { return false }
            search = CounterpartClaim(waiter, with: entry.token.selectWaiter)
            return search == .claimed
        }
        if search == .selfEnded { return .decided }
        if !elements.isEmpty {
            // Claimed before the pop: a select that ended must not take the element.
            if sender == nil, !waiter.beginClaim() { return .decided }
            let element = elements.popFirst().unsafelyUnwrapped
            if let sender { elements.append(sender.element) }
            return .element(element, resumeSender: sender?.token)
        }
        if let sender { return .element(sender.element, resumeSender: sender.token) }
        if isClosed { return waiter.beginClaim() ? .closed : .decided }
        receivers.append((0, token))
        return .registered
    }

    @usableFromInline
    enum SelectSendAction {
        /// The select had already ended: nothing was done.
        case decided
        /// The select is claimed (busy): resume this claimed receiver with the element.
        case handOff(Element, to: Receiver)
        /// The select is claimed (busy): the element is queued.
        case enqueued
        /// The select is claimed (busy): the channel is closed.
        case closed
        /// No room and no receiver: the select's entry is queued with the element.
        case registered
    }

    /// A select's send case registers: completes it now when a receiver waits or there is
    /// room (or the channel is closed) and the select can still be claimed; else queues
    /// `token` with the element. Never pairs the select with its own entries.
    @inlinable
    mutating func registerSelectSend(_ element: Element, _ waiter: _SelectWaiter, token: Sender) -> SelectSendAction {
        if isClosed { return waiter.beginClaim() ? .closed : .decided }
        var search = CounterpartClaim.skip
        let receiver = receivers.removeFirst { entry in
            if search == .selfEnded { return false }
            search = CounterpartClaim(waiter, with: entry.token.selectWaiter)
            return search == .claimed
        }
        if search == .selfEnded { return .decided }
        if let receiver { return .handOff(element, to: receiver.token) }
        if elements.count < capacity {
            guard waiter.beginClaim() else { return .decided }
            elements.append(element)
            return .enqueued
        }
        senders.append((0, token, element))
        return .registered
    }

    /// Removes every waiting receiver and sender for which `belongs` holds: a select that
    /// ended takes its entries out.
    @inlinable
    mutating func removeEntries(receivers receiverBelongs: (Receiver) -> Bool, senders senderBelongs: (Sender) -> Bool)
    {
        while receivers.removeFirst(where: { receiverBelongs($0.token) }) != nil {}
        while senders.removeFirst(where: { senderBelongs($0.token) }) != nil {}
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

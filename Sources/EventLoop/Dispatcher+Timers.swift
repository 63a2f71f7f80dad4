import CEventLoop
import Synchronization

/// A handle to work scheduled on a dispatcher with ``Dispatcher/schedule(after:_:)``.
public final class Scheduled: Sendable {
    enum Payload: Sendable {
        case closure(@Sendable () -> Void)
        case waiter(Waiter)
    }

    let deadline: UInt64
    let payload: Payload
    let dispatcher: Dispatcher
    /// false while armed; the one who flips it (fire, cancel, shutdown) owns the outcome.
    private let done = Atomic<Bool>(false)

    init(deadline: UInt64, payload: Payload, dispatcher: Dispatcher) {
        self.deadline = deadline
        self.payload = payload
        self.dispatcher = dispatcher
    }

    /// Cancels the scheduled work if it has not started: its closure never runs (a sleep
    /// throws `CancellationError`). Callable from any thread, any number of times; does
    /// nothing once the work has run.
    public func cancel() {
        guard claim() else { return }
        dispatcher.cancelledTimers.wrappingAdd(1, ordering: .relaxed)
        if case .waiter(let waiter) = payload { waiter.finish(.failure(CancellationError())) }
    }

    /// Wins the right to deliver this timer's outcome. Acquire/release: the winner sees
    /// everything written before the timer was shared.
    func claim() -> Bool {
        !done.exchange(true, ordering: .acquiringAndReleasing)
    }

    var isArmed: Bool { !done.load(ordering: .relaxed) }

    /// Loop thread: the deadline passed.
    func fire() {
        guard claim() else { return }
        switch payload {
        case .closure(let work): work()
        case .waiter(let waiter): waiter.finish(.success(()))
        }
    }

    /// Loop thread, at shutdown: the loop will never fire this timer.
    func failForShutdown() {
        guard claim() else { return }
        if case .waiter(let waiter) = payload { waiter.finish(.failure(LoopError.shutDown)) }
    }
}

extension Dispatcher {
    /// Runs `work` on the loop thread once `delay` has passed.
    ///
    /// Callable from any thread. A zero or negative delay runs the work on the next loop
    /// iteration; delays longer than about 146 years are clamped. Timers with the same
    /// deadline run in the order they were scheduled. After shutdown the returned handle is
    /// already cancelled and `work` never runs.
    /// - Parameters:
    ///   - delay: how long to wait, measured on the monotonic clock.
    ///   - work: the closure to run on the loop thread.
    /// - Returns: a handle whose ``Scheduled/cancel()`` keeps `work` from running.
    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> Scheduled {
        let timer = Scheduled(deadline: Self.deadline(after: delay), payload: .closure(work), dispatcher: self)
        insertTimer(timer)
        return timer
    }

    /// Suspends the calling task for `duration`, using this loop's timers.
    ///
    /// The calling task may run anywhere (this loop, another loop, the global executor);
    /// it resumes on its own executor. A zero or negative duration returns at once.
    /// - Throws: `CancellationError` when the task is cancelled before or during the sleep
    ///   (the timer is removed at once); ``LoopError/shutDown`` when the dispatcher shuts
    ///   down first.
    public nonisolated(nonsending) func sleep(for duration: Duration) async throws {
        guard duration > .zero else {
            try Task.checkCancellation()
            return
        }
        guard !isShutDown else { throw LoopError.shutDown }
        let waiter = Waiter()
        let timer = Scheduled(deadline: Self.deadline(after: duration), payload: .waiter(waiter), dispatcher: self)
        try await withCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                waiter.install(continuation)
                insertTimer(timer)
            }
        } onCancel: {
            timer.cancel()
        }
    }

    /// The monotonic deadline `delay` from now, in nanoseconds, clamped to 2^62.
    static func deadline(after delay: Duration) -> UInt64 {
        let (seconds, attoseconds) = delay.components
        let now = cel_monotonic_ns()
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return now }
        let limit: UInt64 = 1 << 62
        let (wholeNanos, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow || wholeNanos >= limit { return limit }
        let total = Int64(wholeNanos) + attoseconds / 1_000_000_000
        return min(now &+ UInt64(max(total, 0)), limit)
    }

    func insertTimer(_ timer: Scheduled) {
        if inLoop && !isShutDown {
            timers.insert(timer)
        } else {
            execute { [self] in
                if isShutDown { timer.failForShutdown() } else { timers.insert(timer) }
            }
        }
    }

    /// Loop thread: fires every timer whose deadline has passed, in deadline order.
    func fireDueTimers(now: UInt64) {
        while let timer = timers.popDue(now: now) {
            if timer.isArmed {
                timer.fire()
            } else {
                cancelledTimers.wrappingSubtract(1, ordering: .relaxed)
            }
        }
        let cancelled = cancelledTimers.load(ordering: .relaxed)
        if cancelled > 64 && cancelled * 2 > timers.count {
            let removed = timers.removeAll { !$0.isArmed }
            cancelledTimers.wrappingSubtract(removed, ordering: .relaxed)
        }
    }

    func failTimersForShutdown() {
        for timer in timers.drain() { timer.failForShutdown() }
    }
}

/// A binary min-heap of timers ordered by (deadline, insertion order). Loop thread only.
struct TimerHeap {
    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var timer: Scheduled

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var nextDeadline: UInt64? { entries.first?.deadline }

    mutating func insert(_ timer: Scheduled) {
        entries.append(Entry(deadline: timer.deadline, sequence: nextSequence, timer: timer))
        nextSequence &+= 1
        siftUp(entries.count - 1)
    }

    mutating func popDue(now: UInt64) -> Scheduled? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first.timer
    }

    /// Removes the timers matching `predicate`; returns how many were removed.
    mutating func removeAll(where predicate: (Scheduled) -> Bool) -> Int {
        let before = entries.count
        entries.removeAll { predicate($0.timer) }
        for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        return before - entries.count
    }

    mutating func drain() -> [Scheduled] {
        defer { entries = [] }
        return entries.sorted { $0.precedes($1) }.map(\.timer)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var best = left
            if left + 1 < entries.count && entries[left + 1].precedes(entries[left]) { best = left + 1 }
            guard entries[best].precedes(entries[parent]) else { return }
            entries.swapAt(best, parent)
            parent = best
        }
    }
}

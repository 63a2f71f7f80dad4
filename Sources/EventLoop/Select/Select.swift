import CEventLoop
public import LoopUtilities

/// The operations a select performs on its cases, one at a time by index: the arity
/// overloads (`select(_:_:)`, …) dispatch an index to their case `a`, `b`, … and call
/// ``visit(_:)`` with it, through a non-escaping closure, so no case is boxed or allocated.
@usableFromInline
struct SelectVisit<Result> {
    @usableFromInline
    enum Operation {
        case kind
        case poll
        case register(_SelectWaiter, Int)
        case unregister(_SelectWaiter)
        case complete(_SelectWaiter)
    }

    @usableFromInline var operation: Operation
    @usableFromInline var result: Result? = nil
    @usableFromInline var kind: _SelectCaseKind = .operation

    @inlinable
    init(_ operation: Operation) { self.operation = operation }

    @inlinable
    mutating func visit<Case: SelectCase>(_ selectCase: Case) throws where Case.Result == Result {
        switch operation {
        case .kind: kind = selectCase._kind
        case .poll: result = try selectCase._poll()
        case .register(let waiter, let index): selectCase._register(waiter, as: index)
        case .unregister(let waiter): selectCase._unregister(waiter)
        case .complete(let waiter): result = try selectCase._complete(waiter)
        }
    }
}

/// The cases of one select, as the arity overloads hand them to the shared body: a count,
/// and a closure that visits the case at an index.
@usableFromInline
typealias SelectCases<Result> = (Int, inout SelectVisit<Result>) throws -> Void

/// Runs `operation` on case `index`.
@inlinable
@inline(__always)
func visitCase<Result>(
    _ cases: SelectCases<Result>,
    _ index: Int,
    _ operation: SelectVisit<Result>.Operation
) rethrows -> SelectVisit<Result> {
    var visit = SelectVisit<Result>(operation)
    try cases(index, &visit)
    return visit
}

/// Polls every case in `order`: the first ready one's result, or nil.
@inlinable
@inline(__always)
func pollCases<Result>(_ count: Int, _ order: SelectOrder, _ cases: SelectCases<Result>) throws -> Result? {
    for position in 0..<count {
        if let result = try visitCase(cases, order.index(at: position), .poll).result { return result }
    }
    return nil
}

/// A brief spin of polls before a select registers, as a channel's `receive()` spins: a
/// case that becomes ready within it (a plain thread's reply) costs no registration, no
/// suspension and no allocation. None on a loop with other ready work, which the spin would
/// only delay (and which may be what makes a case ready). Never inlined: inlined, it made
/// `selectCases` too large for the compiler to inline into the `select` overloads, and a
/// ready select then paid an async call and its handlers' closure calls.
@inlinable
@inline(never)
func spinPollingCases<Result>(_ count: Int, _ order: SelectOrder, _ cases: SelectCases<Result>) throws -> Result? {
    var backoff = Dispatcher.currentLoopHasReadyWork ? Backoff.spent : Backoff()
    while backoff.pauseIfNotSpent() {
        if let result = try pollCases(count, order, cases) { return result }
    }
    return nil
}

/// Reads every case's kind: its default, its earliest timeout.
@inlinable
func planCases<Result>(_ count: Int, _ cases: SelectCases<Result>) rethrows -> SelectPlan {
    var plan = SelectPlan()
    for index in 0..<count { plan.note(try visitCase(cases, index, .kind).kind, at: index) }
    return plan
}

/// Registers every case in `order` until the select is decided.
@inlinable
func registerCases<Result>(
    _ count: Int,
    _ order: SelectOrder,
    _ waiter: _SelectWaiter,
    _ cases: SelectCases<Result>
) rethrows {
    for position in 0..<count {
        if waiter.isDecided { return }
        let index = order.index(at: position)
        _ = try visitCase(cases, index, .register(waiter, index))
    }
}

/// The end of a select that waited: unregisters every case from its source and runs the
/// winner's handler (or throws `CancellationError`).
@inlinable
func finishSelect<Result>(
    _ count: Int,
    _ waiter: _SelectWaiter,
    _ plan: SelectPlan,
    _ cases: SelectCases<Result>
) throws -> Result {
    for index in 0..<count { _ = try visitCase(cases, index, .unregister(waiter)) }
    let outcome = waiter.outcome
    if outcome == _SelectWaiter.cancelled { throw CancellationError() }
    let winner = outcome == _SelectWaiter.timedOut ? plan.timeoutIndex : Int(outcome - _SelectWaiter.firstCase)
    guard let result = try visitCase(cases, winner, .complete(waiter)).result else {
        fatalError("select: the winning case \(winner) of \(count) produced no result")
    }
    return result
}

/// The body of every `select` overload; see ``select(biased:_:_:)``.
@inlinable
nonisolated(nonsending) func selectCases<Result>(
    biased: Bool,
    count: Int,
    _ cases: SelectCases<Result>
) async throws -> Result {
    let order = SelectOrder(count: count, biased: biased)
    // Ready cases first, in the chosen order: no allocation, no clock read.
    if let result = try pollCases(count, order, cases) { return result }

    let plan = try planCases(count, cases)
    if let immediate = plan.immediateIndex {
        return try visitCase(cases, immediate, .complete(_SelectWaiter.none)).result!
    }
    if let result = try spinPollingCases(count, order, cases) { return result }
    // Before any registration, so that a timeout thread that cannot start takes nothing.
    let timeouts = plan.deadline == nil ? nil : try Dispatcher.timeoutDispatcher()
    let waiter = _SelectWaiter(blocksThread: false)
    try registerCases(count, order, waiter, cases)
    var timer: Scheduled? = nil
    if let timeouts, let deadline = plan.deadline, !waiter.isDecided {
        timer = timeouts.scheduleTimeout(deadline: deadline) {
            if waiter.claim(_SelectWaiter.timedOut) { waiter.wake() }
        }
    }
    await withCancellationHandler {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            waiter.publish(continuation)
        }
    } onCancel: {
        if waiter.claim(_SelectWaiter.cancelled) { waiter.wake() }
    }
    timer?.cancel()
    return try finishSelect(count, waiter, plan, cases)
}

/// The body of every `selectSync` overload; see ``selectSync(biased:_:_:)``. Before it
/// registers, it polls the cases as the thread's idle policy allows (`IdlePolicy.currentThread`).
@inlinable
func selectCasesSync<Result>(biased: Bool, count: Int, _ cases: SelectCases<Result>) throws -> Result {
    let order = SelectOrder(count: count, biased: biased)
    let plan = try planCases(count, cases)
    // A spin of polls first, as the thread's idle policy allows: a case that becomes ready
    // within it costs no system call. None where the select could not wait anyway.
    let runsALoop = Dispatcher.currentThreadRunsALoop
    var spin =
        plan.immediateIndex == nil && !runsALoop ? IdleWait.forPlainThread(limit: plan.deadline ?? .max) : .none
    repeat {
        if let result = try pollCases(count, order, cases) {
            spin.ended()
            return result
        }
    } while spin.pause()

    if let immediate = plan.immediateIndex {
        return try visitCase(cases, immediate, .complete(_SelectWaiter.none)).result!
    }
    if runsALoop { throw LoopError.wouldBlockLoop }
    let waiter = _SelectWaiter(blocksThread: true)
    try registerCases(count, order, waiter, cases)
    waiter.parkUntilWoken(deadline: plan.deadline ?? .max)
    return try finishSelect(count, waiter, plan, cases)
}

/// The order in which a select polls and registers its cases: a random permutation (Go's
/// `pollorder`), or written order when biased. Up to 16 cases the permutation is uniform,
/// kept as 4-bit indices in one word; beyond, a random rotation.
@usableFromInline
struct SelectOrder {
    @usableFromInline let nibbles: UInt64
    @usableFromInline let rotation: Int
    @usableFromInline let count: Int

    @usableFromInline static let identity: UInt64 = 0xFEDC_BA98_7654_3210

    @inlinable
    init(count: Int, biased: Bool) {
        self.count = count
        if biased || count < 2 {
            nibbles = Self.identity
            rotation = 0
        } else if count <= 16 {
            nibbles = Self.shuffled(count)
            rotation = 0
        } else {
            nibbles = Self.identity
            rotation = Self.random(below: count)
        }
    }

    /// A random number in `0..<bound`, from the thread's fast generator.
    @usableFromInline
    static func random(below bound: Int) -> Int {
        Int(cel_random() % UInt64(bound))
    }

    /// A uniform random permutation of `0..<count` (Fisher–Yates), `count <= 16`.
    @usableFromInline
    static func shuffled(_ count: Int) -> UInt64 {
        var nibbles = identity
        var i = count - 1
        while i > 0 {
            let j = Int(cel_random() % UInt64(i + 1))
            if i != j {
                let a = (nibbles >> UInt64(4 * i)) & 0xF
                let b = (nibbles >> UInt64(4 * j)) & 0xF
                nibbles &= ~((0xF << UInt64(4 * i)) | (0xF << UInt64(4 * j)))
                nibbles |= (a << UInt64(4 * j)) | (b << UInt64(4 * i))
            }
            i -= 1
        }
        return nibbles
    }

    /// The case at `position` of the order.
    @inlinable
    func index(at position: Int) -> Int {
        if count > 16 { return (position + rotation) % count }
        return Int((nibbles >> UInt64(4 * position)) & 0xF)
    }
}

/// What a select does when no case is ready: run its default, or wait until its earliest
/// timeout (monotonic nanoseconds), or wait without one.
@usableFromInline
struct SelectPlan {
    /// The default case, or a timeout case whose deadline has passed.
    @usableFromInline var immediateIndex: Int? = nil
    @usableFromInline var defaultIndex: Int? = nil
    @usableFromInline var deadline: UInt64? = nil
    @usableFromInline var timeoutIndex = -1

    @inlinable
    init() {}

    @inlinable
    mutating func note(_ kind: _SelectCaseKind, at index: Int) {
        let caseDeadline: UInt64
        switch kind {
        case .operation:
            return
        case .otherwise:
            if defaultIndex == nil {
                defaultIndex = index
                immediateIndex = index
            }
            return
        case .timeout(let duration):
            caseDeadline = LoopUtilities.deadline(after: duration)
        case .deadline(let instant):
            caseDeadline = LoopUtilities.deadline(at: instant)
        }
        if deadline == nil || caseDeadline < deadline! {
            deadline = caseDeadline
            timeoutIndex = index
        }
        if defaultIndex == nil, caseDeadline <= monotonicNanoseconds() {
            immediateIndex = timeoutIndex
        }
    }
}

extension _SelectWaiter {
    /// The waiter handed to a default's or a passed timeout's handler, which use none.
    @usableFromInline
    static let none = _SelectWaiter(blocksThread: false)

    /// Parks the `selectSync` thread until a case or the timeout wins. At `deadline` it
    /// claims the timeout; if a source claimed first, it waits for that source's wake.
    @usableFromInline
    func parkUntilWoken(deadline: UInt64) {
        guard let parker else { preconditionFailure("a task's select waiter cannot park a thread") }
        while !isWoken {
            if deadline == .max {
                parker.park()
                continue
            }
            let now = monotonicNanoseconds()
            if now >= deadline {
                if claim(Self.timedOut) { return }
                // A source won first: its wake is on the way.
                while !isWoken { parker.park() }
                return
            }
            parker.park(timeout: .nanoseconds(Int64(clamping: deadline - now)))
        }
    }
}

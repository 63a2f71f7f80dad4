// The select overloads, one per number of cases (Swift 6.3 has no same-type requirement
// over the elements of a parameter pack). Each hands its cases to the shared body
// (`selectCases`, `selectCasesSync`) as a closure that visits a case by index.

/// ``select(biased:_:_:)`` with 1 case: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<A: SelectCase>(
    biased: Bool = false,
    _ a: A
) async throws -> A.Result {
    try await selectCases(biased: biased, count: 1) { index, visit in
        switch index {
        default: try visit.visit(a)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 1 case: the same semantics, throws and threads.
@inlinable
public func selectSync<A: SelectCase>(
    biased: Bool = false,
    _ a: A
) throws -> A.Result {
    try selectCasesSync(biased: biased, count: 1) { index, visit in
        switch index {
        default: try visit.visit(a)
        }
    }
}

/// Waits until one of the cases is ready, performs exactly that case's operation and
/// returns what its handler returns.
///
/// ```swift
/// let reply: String = try await select(
///     requests.onReceive { request in request.map { "request \($0)" } ?? "requests closed" },
///     shutdown.onFire { _ in "shutting down" },
///     SelectTimeout(.seconds(1)) { "idle" }
/// )
/// ```
///
/// One overload per number of cases, from 1 to 8; every case's handler returns the same
/// `Result`. A case is ready when its operation can complete without waiting: a receive
/// when the source has an element, or is closed and drained (the handler gets nil: a select
/// never hangs on a closed source and never ignores one); a bounded send when there is room
/// or a waiting receiver, or the channel is closed (the handler gets false); a
/// `ThreadSignal` when it is set or closed (the handler gets whether it fired).
///
/// - **Exactly once.** Of all the cases, only the chosen one's operation takes effect; the
///   others take no element, reserve no room, consume no fire, and leave their sources as
///   they were. This holds when sends, closes, timeouts, cancellations and other selects
///   race with this one: a source completes a case only after it has claimed the select,
///   which succeeds once.
/// - **Fairness.** When several cases are ready, each is chosen with equal probability (Go's
///   rule). With `biased: true` the first ready case in written order is chosen (tokio's
///   `biased;`).
/// - **Waiting.** With nothing ready and no ``SelectDefault``, the task polls its cases for
///   about a microsecond, as a channel's `receive()` does (not on a loop with other ready
///   work), then registers with every source and suspends until one of them completes its
///   case, the earliest ``SelectTimeout`` fires, or the task is cancelled. A select that finds
///   a case ready allocates nothing; one that waits allocates the token its sources claim,
///   plus the timer of a timeout and, for an element wider than three words, the box it is
///   handed over in.
/// - **Handlers** run on the calling task after the select has decided; what they throw is
///   rethrown.
///
/// Callable from any task, on any executor (a ``Dispatcher``, the global executor, an
/// actor); it runs on the caller's executor and never hops. The same source may appear in
/// several cases, and in the selects of many tasks and threads at once.
///
/// - Parameters:
///   - biased: choose the first ready case in written order instead of at random.
///   - a: a case; make cases with the sources' `on…` methods, ``SelectTimeout`` and
///     ``SelectDefault``.
///   - b: another case.
/// - Returns: what the chosen case's handler returns.
/// - Throws: `CancellationError` when the task is cancelled while it waits: nothing was
///   taken, sent or consumed (a select that finds a case ready completes it even in a
///   cancelled task); whatever the chosen handler throws; `LoopError` when a timeout needs
///   the shared timeout thread and it cannot be started (nothing was taken).
@inlinable
public nonisolated(nonsending) func select<A: SelectCase, B: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B
) async throws -> A.Result where B.Result == A.Result {
    try await selectCases(biased: biased, count: 2) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        default: try visit.visit(b)
        }
    }
}

/// Blocks the calling thread until one of the cases is ready, performs exactly that case's
/// operation and returns what its handler returns: ``select(biased:_:_:)`` for plain
/// threads.
///
/// The same cases and guarantees (exactly once, fairness, `biased`), one overload per
/// number of cases from 1 to 8. It polls the cases for about a microsecond before it
/// registers, so a case that becomes ready at once costs no system call; then it parks (a
/// futex) until a source completes a case or the earliest ``SelectTimeout`` passes. A
/// blocked thread cannot be cancelled: a timeout, or closing a source, bounds the wait.
///
/// For plain threads (pool workers, blocking I/O threads, C callbacks). On a thread that
/// runs a dispatcher's loop it must not wait: there a select with nothing ready throws
/// ``LoopError/wouldBlockLoop`` (a ready case, a default or a passed timeout still
/// completes). From a task, call ``select(biased:_:_:)``.
///
/// - Parameters:
///   - biased: choose the first ready case in written order instead of at random.
///   - a: a case.
///   - b: another case.
/// - Returns: what the chosen case's handler returns.
/// - Throws: ``LoopError/wouldBlockLoop`` as above; whatever the chosen handler throws.
@inlinable
public func selectSync<A: SelectCase, B: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B
) throws -> A.Result where B.Result == A.Result {
    try selectCasesSync(biased: biased, count: 2) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        default: try visit.visit(b)
        }
    }
}

/// ``select(biased:_:_:)`` with 3 cases: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<A: SelectCase, B: SelectCase, C: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C
) async throws -> A.Result where B.Result == A.Result, C.Result == A.Result {
    try await selectCases(biased: biased, count: 3) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        default: try visit.visit(c)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 3 cases: the same semantics, throws and threads.
@inlinable
public func selectSync<A: SelectCase, B: SelectCase, C: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C
) throws -> A.Result where B.Result == A.Result, C.Result == A.Result {
    try selectCasesSync(biased: biased, count: 3) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        default: try visit.visit(c)
        }
    }
}

/// ``select(biased:_:_:)`` with 4 cases: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D
) async throws -> A.Result where B.Result == A.Result, C.Result == A.Result, D.Result == A.Result {
    try await selectCases(biased: biased, count: 4) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        default: try visit.visit(d)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 4 cases: the same semantics, throws and threads.
@inlinable
public func selectSync<A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D
) throws -> A.Result where B.Result == A.Result, C.Result == A.Result, D.Result == A.Result {
    try selectCasesSync(biased: biased, count: 4) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        default: try visit.visit(d)
        }
    }
}

/// ``select(biased:_:_:)`` with 5 cases: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E
) async throws -> A.Result
where B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result {
    try await selectCases(biased: biased, count: 5) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        default: try visit.visit(e)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 5 cases: the same semantics, throws and threads.
@inlinable
public func selectSync<A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E
) throws -> A.Result where B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result {
    try selectCasesSync(biased: biased, count: 5) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        default: try visit.visit(e)
        }
    }
}

/// ``select(biased:_:_:)`` with 6 cases: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<
    A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase, F: SelectCase
>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F
) async throws -> A.Result
where B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result, F.Result == A.Result {
    try await selectCases(biased: biased, count: 6) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        case 4: try visit.visit(e)
        default: try visit.visit(f)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 6 cases: the same semantics, throws and threads.
@inlinable
public func selectSync<A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase, F: SelectCase>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F
) throws -> A.Result
where B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result, F.Result == A.Result {
    try selectCasesSync(biased: biased, count: 6) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        case 4: try visit.visit(e)
        default: try visit.visit(f)
        }
    }
}

/// ``select(biased:_:_:)`` with 7 cases: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<
    A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase, F: SelectCase, G: SelectCase
>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G
) async throws -> A.Result
where
    B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result, F.Result == A.Result,
    G.Result == A.Result
{
    try await selectCases(biased: biased, count: 7) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        case 4: try visit.visit(e)
        case 5: try visit.visit(f)
        default: try visit.visit(g)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 7 cases: the same semantics, throws and threads.
@inlinable
public func selectSync<
    A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase, F: SelectCase, G: SelectCase
>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G
) throws -> A.Result
where
    B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result, F.Result == A.Result,
    G.Result == A.Result
{
    try selectCasesSync(biased: biased, count: 7) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        case 4: try visit.visit(e)
        case 5: try visit.visit(f)
        default: try visit.visit(g)
        }
    }
}

/// ``select(biased:_:_:)`` with 8 cases: the same semantics, throws and threads.
@inlinable
public nonisolated(nonsending) func select<
    A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase, F: SelectCase, G: SelectCase,
    H: SelectCase
>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H
) async throws -> A.Result
where
    B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result, F.Result == A.Result,
    G.Result == A.Result, H.Result == A.Result
{
    try await selectCases(biased: biased, count: 8) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        case 4: try visit.visit(e)
        case 5: try visit.visit(f)
        case 6: try visit.visit(g)
        default: try visit.visit(h)
        }
    }
}

/// ``selectSync(biased:_:_:)`` with 8 cases: the same semantics, throws and threads.
@inlinable
public func selectSync<
    A: SelectCase, B: SelectCase, C: SelectCase, D: SelectCase, E: SelectCase, F: SelectCase, G: SelectCase,
    H: SelectCase
>(
    biased: Bool = false,
    _ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H
) throws -> A.Result
where
    B.Result == A.Result, C.Result == A.Result, D.Result == A.Result, E.Result == A.Result, F.Result == A.Result,
    G.Result == A.Result, H.Result == A.Result
{
    try selectCasesSync(biased: biased, count: 8) { index, visit in
        switch index {
        case 0: try visit.visit(a)
        case 1: try visit.visit(b)
        case 2: try visit.visit(c)
        case 3: try visit.visit(d)
        case 4: try visit.visit(e)
        case 5: try visit.visit(f)
        case 6: try visit.visit(g)
        default: try visit.visit(h)
        }
    }
}

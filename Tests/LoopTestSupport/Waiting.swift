import Glibc
public import Testing

// Waiting for an event that another task or thread causes (a waiter registered, a thread
// reached a step), without sleeping: the waiting side yields and re-checks. Both helpers are
// bounded, so that a bug fails the test with a message naming what was awaited instead of
// hanging it; the bounds are far above any legitimate wait (tests also carry a time limit).

/// Rounds of `waitUntil` before it gives up.
let asyncWaitRounds = 20_000_000

/// Rounds of `spinUntil` before it gives up.
let threadSpinRounds = 20_000_000

/// Yields until `condition` holds. After a very large number of rounds it records an issue
/// naming `what` at the caller and returns false, so that the test fails with that message
/// rather than waiting for ever.
///
/// - Returns: whether `condition` held.
@discardableResult
nonisolated(nonsending) public func waitUntil(
    _ what: @autoclosure () -> String = "the condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async -> Bool {
    var rounds = 0
    while !condition() {
        if !(await nextRound(&rounds, what, sourceLocation)) { return false }
    }
    return true
}

/// `waitUntil` for a condition that must await (for example a question answered on an event
/// loop's thread).
@discardableResult
nonisolated(nonsending) public func waitUntil(
    _ what: @autoclosure () -> String = "the condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async -> Bool
) async -> Bool {
    var rounds = 0
    while !(await condition()) {
        if !(await nextRound(&rounds, what, sourceLocation)) { return false }
    }
    return true
}

/// One round of a `waitUntil`: false once the rounds are used up (the issue is recorded).
nonisolated(nonsending) private func nextRound(
    _ rounds: inout Int, _ what: () -> String, _ sourceLocation: SourceLocation
) async -> Bool {
    rounds += 1
    if rounds >= asyncWaitRounds {
        Issue.record(
            "gave up waiting for \(what()) (\(asyncWaitRounds) rounds of yielding)",
            sourceLocation: sourceLocation)
        return false
    }
    await Task.yield()
    // Now and then give up the OS thread too: the awaited party may be a plain thread
    // waiting for this CPU.
    if rounds % 64 == 0 { sched_yield() }
    return true
}

/// The plain-thread version of `waitUntil`: calls `sched_yield` until `condition` holds.
/// After a very large number of rounds it stops the process with a message naming `what`
/// and the caller (a plain thread has no test to record an issue against, and must not run
/// on past a step it needs).
public func spinUntil(
    _ what: @autoclosure () -> String = "the condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) {
    var rounds = 0
    while !condition() {
        rounds += 1
        if rounds >= threadSpinRounds {
            preconditionFailure(
                "spinUntil at \(sourceLocation): gave up waiting for \(what()) (\(threadSpinRounds) rounds of sched_yield)"
            )
        }
        sched_yield()
    }
}

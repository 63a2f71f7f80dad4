import AsyncChannels

// The hand-written substitutes for a select that the `select-*` scenarios compare ours with:
// what a careful engineer writes without one, from a task group and the standard library.

/// What one child task of a hand-written race reports.
enum RaceOutcome: Sendable {
    /// The child's receive took `value` from source `source`.
    case element(source: Int, value: Int)
    /// The child's sleep of race `round` ended.
    case timedOut(round: Int)
    /// The child was cancelled (or its source finished) before it took anything.
    case nothing
}

/// `TaskGroupRace`: a select over `AsyncChannel`s written with a task group. Each race adds
/// one child per channel that awaits `receive()` (and one that sleeps, for a timeout), takes
/// the first child's result and cancels the others.
///
/// Careful, so that it loses nothing: a loser that took an element before its cancellation
/// reached it returns that element, which is kept and handed out by the next race before it
/// races again (each channel's order holds: a loser's element was the first of its
/// channel). A loser whose receive was cancelled while it waited took nothing, as
/// `receive()` guarantees.
struct TaskGroupRace {
    let channels: [AsyncChannels.AsyncChannel<Int>]
    /// The elements losers took, at most one per channel (a race with one in hand does not
    /// race).
    private var carried: [Int?]

    init(_ channels: [AsyncChannels.AsyncChannel<Int>]) {
        self.channels = channels
        carried = Array(repeating: nil, count: channels.count)
    }

    /// The next element of any channel, or nil when `timeout` passed first.
    mutating func next(timeout: Duration? = nil) async throws -> Int? {
        if let index = carried.firstIndex(where: { $0 != nil }) {
            defer { carried[index] = nil }
            return carried[index]
        }
        let channels = channels
        var winner: Int?? = nil  // .some(nil): the timeout won
        var carried = self.carried
        defer { self.carried = carried }
        try await withThrowingTaskGroup(of: RaceOutcome.self) { group in
            for (index, channel) in channels.enumerated() {
                group.addTask {
                    do {
                        return .element(source: index, value: try await channel.receive())
                    } catch is CancellationError {
                        return .nothing
                    }
                }
            }
            if let timeout {
                group.addTask {
                    do {
                        try await Task.sleep(for: timeout)
                        return .timedOut(round: 0)
                    } catch {
                        return .nothing
                    }
                }
            }
            // Every child is awaited: a loser's element must be seen to be kept.
            while let outcome = try await group.next() {
                switch outcome {
                case .element(let source, let value):
                    if winner == nil {
                        winner = .some(value)
                        group.cancelAll()
                    } else {
                        carried[source] = value
                    }
                case .timedOut:
                    if winner == nil {
                        winner = .some(nil)
                        group.cancelAll()
                    }
                case .nothing:
                    break
                }
            }
        }
        guard let winner else { throw BenchError("a race ended without a winner") }
        return winner
    }
}

/// One `AsyncStream`'s iterator, shared by the child tasks of a ``StreamRace`` that await it
/// one at a time (an iterator is not `Sendable`; only one child awaits it at any moment).
final class StreamIteratorBox: @unchecked Sendable {
    var iterator: AsyncStream<Int>.AsyncIterator  // used by one child task at a time

    init(_ stream: AsyncStream<Int>) {
        iterator = stream.makeAsyncIterator()
    }
}

/// `AsyncStream+TaskGroup`: a select over `AsyncStream`s written with a task group that lives
/// as long as the races: one child per stream awaits its iterator's `next()`, and a race adds
/// a sleeping child for its timeout.
///
/// A pending `next()` cannot be cancelled: cancelling the task that awaits it finishes the
/// stream. So a losing child is not cancelled but left waiting, and its element is the
/// result of a later race (the group outlives every race for that); only a stream whose
/// child returned gets a new one. A timeout that loses is not cancelled either (a task group
/// cannot cancel one child): it ends later and is ignored.
struct StreamRace {
    let streams: [StreamIteratorBox]
    private var waiting: [Bool]
    private var round = 0

    init(_ streams: [AsyncStream<Int>]) {
        self.streams = streams.map(StreamIteratorBox.init)
        waiting = Array(repeating: false, count: streams.count)
    }

    /// The next element of any stream, or nil when `timeout` passed first; the children run
    /// in `group`, which outlives the race.
    mutating func next(
        in group: inout ThrowingTaskGroup<RaceOutcome, any Error>,
        timeout: Duration? = nil
    ) async throws -> Int? {
        round += 1
        for (index, box) in streams.enumerated() where !waiting[index] {
            waiting[index] = true
            group.addTask {
                var iterator = box.iterator
                defer { box.iterator = iterator }
                guard let value = await iterator.next() else { return .nothing }
                return .element(source: index, value: value)
            }
        }
        if let timeout {
            let round = round
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut(round: round)
                } catch {
                    return .nothing
                }
            }
        }
        while let outcome = try await group.next() {
            switch outcome {
            case .element(let source, let value):
                waiting[source] = false
                return value
            case .timedOut(let fired) where fired == round:
                return nil
            case .timedOut, .nothing:
                continue  // an earlier race's timeout, or a finished stream
            }
        }
        throw BenchError("every stream finished")
    }
}

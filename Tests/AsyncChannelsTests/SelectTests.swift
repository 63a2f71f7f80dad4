import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

/// What a test's select chose.
enum Chosen: Hashable, Sendable {
    case first(Int?)
    case second(Int?)
    case sent(Bool)
    case fired(Bool)
    case timedOut
    case otherwise
}

/// `select` and `selectSync` over the channels and a `ThreadSignal`: readiness, fairness,
/// defaults, timeouts, cancellation, closed sources, rendezvous, and the rule that only the
/// chosen case's operation takes effect. Written from the semantics of Go's `select`
/// (runtime/chan_test.go), crossbeam's `Select` and tokio's `select!`.
@Suite("Select", .stressTimeLimit)
struct SelectTests {
    // MARK: Readiness

    @Test func aReadyCaseIsChosenAndTheOtherSourceIsUntouched() async throws {
        let a = AsyncChannel<Int>()
        let b = AsyncChannel<Int>()
        try b.send(7)
        let chosen = try await select(a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) })
        #expect(chosen == .second(7))
        try a.send(1)
        let next = try await select(a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) })
        #expect(next == .first(1))
        #expect(a.count == 0 && b.count == 0)
    }

    @Test func aClosedAndDrainedSourceIsReadyAndSaysSo() async throws {
        let a = AsyncChannel<Int>()
        let b = try BoundedAsyncChannel<Int>(capacity: 1)
        try a.send(1)
        a.close()
        #expect(try await select(a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) }) == .first(1))
        #expect(try await select(a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) }) == .first(nil))
        b.close()
        let c = AsyncChannel<Int>()
        #expect(try await select(c.onReceive { Chosen.first($0) }, b.onReceive { .second($0) }) == .second(nil))
        #expect(try await select(b.onSend(1) { Chosen.sent($0) }, c.onReceive { .first($0) }) == .sent(false))
    }

    @Test func aClosingSourceWakesAWaitingSelect() async throws {
        let a = AsyncChannel<Int>()
        let b = try BoundedAsyncChannel<Int>(capacity: 1)
        let selecting = Task { try await select(a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) }) }
        await waitUntil("the select to wait") { a.waitingReceivers == 1 && b.waitingReceivers == 1 }
        b.close()
        #expect(try await selecting.value == .second(nil))
        #expect(a.waitingReceivers == 0, "the select took its entry out of the other source")
    }

    @Test func theDefaultRunsOnlyWhenNothingIsReady() async throws {
        let a = AsyncChannel<Int>()
        #expect(try await select(a.onReceive { Chosen.first($0) }, SelectDefault { .otherwise }) == .otherwise)
        #expect(a.waitingReceivers == 0, "a select with a default registers nowhere")
        try a.send(3)
        #expect(try await select(a.onReceive { Chosen.first($0) }, SelectDefault { .otherwise }) == .first(3))
        #expect(try selectSync(a.onReceive { Chosen.first($0) }, SelectDefault { .otherwise }) == .otherwise)
    }

    // MARK: Fairness (Go's TestSelectFairness)

    @Test func readyCasesAreChosenWithEqualProbability() async throws {
        let channels = (0..<4).map { _ in AsyncChannel<Int>() }
        let rounds = 8_000
        for channel in channels { for _ in 0..<rounds { try channel.send(0) } }
        var counts = [0, 0, 0, 0]
        for _ in 0..<rounds {
            let index = try await select(
                channels[0].onReceive { _ in 0 },
                channels[1].onReceive { _ in 1 },
                channels[2].onReceive { _ in 2 },
                channels[3].onReceive { _ in 3 }
            )
            counts[index] += 1
        }
        // Each count is Binomial(8000, 1/4): mean 2000, standard deviation about 39. Six
        // deviations either way fails about once in 10^8 runs of a fair select.
        for count in counts { #expect(abs(count - 2_000) < 240, "counts \(counts)") }
    }

    @Test func aBiasedSelectChoosesInWrittenOrder() async throws {
        let a = AsyncChannel<Int>()
        let b = AsyncChannel<Int>()
        for i in 0..<100 {
            try a.send(i)
            try b.send(i)
        }
        for i in 0..<100 {
            #expect(
                try await select(biased: true, a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) })
                    == .first(i))
        }
        #expect(b.count == 100)
    }

    // MARK: Waking

    @Test func aPlainThreadsSendWakesASelectOnALoop() async throws {
        let loop = try LoopThread(name: "select-wake")
        defer { loop.shutdown() }
        let a = AsyncChannel<Int>()
        let b = try BoundedAsyncChannel<Int>(capacity: 4)
        for round in 0..<200 * stressFactor {
            let selecting = Task(executorPreference: loop.dispatcher) {
                try await select(a.onReceive { Chosen.first($0) }, b.onReceive { .second($0) })
            }
            let toBounded = round % 2 == 0
            let sender = PlainThread {
                if toBounded { try? b.trySend(round) } else { try? a.send(round) }
            }
            #expect(try await selecting.value == (toBounded ? .second(round) : .first(round)))
            await sender.join()
            try #require(a.count == 0 && b.count == 0, "round \(round): the loser took nothing, the winner one")
        }
    }

    @Test func aFireWakesASelectAndIsConsumedOnlyWhenChosen() async throws {
        let signal = try ThreadSignal()
        let a = AsyncChannel<Int>()
        let selecting = Task { try await select(a.onReceive { Chosen.first($0) }, signal.onFire { .fired($0) }) }
        await waitUntil("the select to wait") { a.waitingReceivers == 1 }
        signal.fire()
        #expect(try await selecting.value == .fired(true))
        // Both ready: whichever is chosen, the other keeps its own.
        try a.send(1)
        signal.fire()
        let chosen = try await select(a.onReceive { Chosen.first($0) }, signal.onFire { .fired($0) })
        if chosen == .first(1) {
            #expect(signal.waitSync(timeout: .zero), "the fire is still there")
        } else {
            #expect(chosen == .fired(true))
            #expect(a.tryReceive() == 1, "the element is still there")
        }
        signal.close()
        #expect(try await select(a.onReceive { Chosen.first($0) }, signal.onFire { .fired($0) }) == .fired(false))
    }

    // MARK: Timeouts

    @Test func aTimeoutWinsWhenNothingComesAndTheLateElementStays() async throws {
        let a = AsyncChannel<Int>()
        let chosen = try await select(a.onReceive { Chosen.first($0) }, SelectTimeout(.milliseconds(5)) { .timedOut })
        #expect(chosen == .timedOut)
        #expect(a.waitingReceivers == 0)
        try a.send(4)
        #expect(a.tryReceive() == 4)
        let byDeadline = try await select(
            a.onReceive { Chosen.first($0) },
            SelectTimeout(deadline: .now + .milliseconds(5)) { .timedOut }
        )
        #expect(byDeadline == .timedOut)
        // A zero timeout only looks.
        #expect(try await select(a.onReceive { Chosen.first($0) }, SelectTimeout(.zero) { .timedOut }) == .timedOut)
        #expect(
            try selectSync(a.onReceive { Chosen.first($0) }, SelectTimeout(.milliseconds(5)) { .timedOut }) == .timedOut
        )
    }

    @Test func theEarliestTimeoutWins() async throws {
        let a = AsyncChannel<Int>()
        let chosen = try await select(
            a.onReceive { _ in "element" },
            SelectTimeout(.seconds(3600)) { "late" },
            SelectTimeout(.milliseconds(5)) { "early" }
        )
        #expect(chosen == "early")
    }

    @Test func aSatisfiedSelectLeavesNoTimerArmed() async throws {
        let loop = try LoopThread(name: "select-timer")
        defer { loop.shutdown() }
        let a = AsyncChannel<Int>()
        let selecting = Task(executorPreference: loop.dispatcher) {
            try await select(a.onReceive { Chosen.first($0) }, SelectTimeout(.seconds(3600)) { .timedOut })
        }
        await waitUntil("the select to wait") { a.waitingReceivers == 1 }
        #expect(await loop.dispatcher.armedTimers == 1)
        try a.send(2)
        #expect(try await selecting.value == .first(2))
        #expect(await loop.dispatcher.armedTimers == 0)
    }

    // MARK: Cancellation (tokio's select! cancellation tests)

    @Test func aCancelledSelectThrowsAndTakesNothing() async throws {
        let a = AsyncChannel<Int>()
        let b = try BoundedAsyncChannel<Int>(capacity: 0)
        let selecting = Task {
            try await select(a.onReceive { Chosen.first($0) }, b.onSend(9) { .sent($0) })
        }
        await waitUntil("the select to wait") { a.waitingReceivers == 1 && b.waitingSenders == 1 }
        selecting.cancel()
        await #expect(throws: CancellationError.self) { try await selecting.value }
        #expect(a.waitingReceivers == 0 && b.waitingSenders == 0, "the select left both sources")
        try a.send(1)
        #expect(a.tryReceive() == 1)
        #expect(b.tryReceive() == nil, "the cancelled send did not go in")
    }

    @Test func aSelectInACancelledTaskStillTakesAReadyCase() async throws {
        let a = AsyncChannel<Int>()
        try a.send(5)
        let chosen = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try? await select(a.onReceive { Chosen.first($0) }, SelectTimeout(.seconds(1)) { .timedOut })
        }.value
        #expect(chosen == .first(5))
    }

    // MARK: Bounded sends and rendezvous

    @Test func aSendCaseWaitsForRoom() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        try channel.trySend(1)
        let other = AsyncChannel<Int>()
        let selecting = Task { try await select(channel.onSend(2) { Chosen.sent($0) }, other.onReceive { .first($0) }) }
        await waitUntil("the select to wait") { channel.waitingSenders == 1 }
        #expect(channel.tryReceive() == 1)
        #expect(try await selecting.value == .sent(true))
        #expect(channel.tryReceive() == 2)
        #expect(other.waitingReceivers == 0)
    }

    @Test func aRendezvousSendCompletesOnlyWhenReceived() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 0)
        #expect(throws: ChannelSendError<Int>.self) { try channel.trySend(1) }
        let sender = Task { try await channel.send(1) }
        await waitUntil("the sender to wait") { channel.waitingSenders == 1 }
        #expect(channel.count == 0)
        #expect(try await channel.receive() == 1)
        try await sender.value
        // A select on each side.
        let selectingSender = Task {
            try await select(channel.onSend(2) { Chosen.sent($0) }, SelectTimeout(.seconds(3600)) { .timedOut })
        }
        await waitUntil("the select to wait") { channel.waitingSenders == 1 }
        #expect(
            try await select(channel.onReceive { Chosen.first($0) }, SelectTimeout(.seconds(3600)) { .timedOut })
                == .first(2))
        #expect(try await selectingSender.value == .sent(true))
        #expect(throws: (any Error).self) { _ = try BoundedAsyncChannel<Int>(capacity: -1) }
    }

    /// Go's TestSelfSelect: two tasks each select to send to and receive from one unbuffered
    /// channel; a select never pairs with itself, so each round one sends to the other.
    @Test func aSelectNeverPairsWithItself() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 0)
        let rounds = 500 * stressFactor
        let results = Collector<Chosen>()
        await withThrowingTaskGroup(of: Void.self) { group in
            for party in 0..<2 {
                group.addTask {
                    for _ in 0..<rounds {
                        results.append(
                            try await select(
                                channel.onSend(party) { Chosen.sent($0) }, channel.onReceive { .first($0) })
                        )
                    }
                }
            }
        }
        let all = results.all
        #expect(all.count == 2 * rounds)
        #expect(all.filter { $0 == .sent(true) }.count == rounds)
        #expect(all.filter { if case .first(.some) = $0 { true } else { false } }.count == rounds)
    }

    /// Go's TestSelectDuplicateChannel: the same channel in two cases of one select.
    @Test func theSameSourceTwiceInOneSelect() async throws {
        let a = AsyncChannel<Int>()
        let selecting = Task { try await select(a.onReceive { Chosen.first($0) }, a.onReceive { .second($0) }) }
        await waitUntil("the select to wait") { a.waitingReceivers == 2 }
        try a.send(1)
        let chosen = try await selecting.value
        #expect(chosen == .first(1) || chosen == .second(1))
        #expect(a.waitingReceivers == 0)
        try a.send(2)
        #expect(a.tryReceive() == 2, "the other entry took nothing")
    }

    // MARK: Plain threads

    @Test func selectSyncBlocksAPlainThreadUntilACaseIsReady() async throws {
        let a = AsyncChannel<Int>()
        let signal = try ThreadSignal()
        let result = Collector<Chosen>()
        let thread = PlainThread {
            result.append(try! selectSync(a.onReceive { Chosen.first($0) }, signal.onFire { .fired($0) }))
            result.append(try! selectSync(a.onReceive { Chosen.first($0) }, signal.onFire { .fired($0) }))
        }
        await waitUntil("the thread to wait") { a.waitingReceivers == 1 }
        try a.send(8)
        await waitUntil("the thread to wait again") { a.waitingReceivers == 1 && result.all.count == 1 }
        signal.fire()
        await thread.join()
        #expect(result.all == [.first(8), .fired(true)])
    }

    @Test func selectSyncOnALoopThreadRefusesToWait() async throws {
        let loop = try LoopThread(name: "select-sync")
        defer { loop.shutdown() }
        let a = AsyncChannel<Int>()
        let outcome = await Task(executorPreference: loop.dispatcher) { () -> String in
            do {
                _ = try selectSync(a.onReceive { Chosen.first($0) }, SelectTimeout(.seconds(1)) { .timedOut })
                return "waited"
            } catch let error as LoopError {
                return error == .wouldBlockLoop ? "refused" : "\(error)"
            } catch {
                return "\(error)"
            }
        }.value
        #expect(outcome == "refused")
        try a.send(1)
        let ready = try await Task(executorPreference: loop.dispatcher) {
            try selectSync(a.onReceive { Chosen.first($0) }, SelectDefault { .otherwise })
        }.value
        #expect(ready == .first(1), "a ready case completes on a loop thread too")
    }
}

/// The try-receive that tells an empty channel from a closed and drained one.
@Suite struct TryReceiveResultTests {
    @Test func emptyAndClosedAreToldApart() throws {
        let unbounded = AsyncChannel<Int>()
        #expect(unbounded.tryReceiveResult() == .empty)
        try unbounded.send(1)
        unbounded.close()
        #expect(unbounded.tryReceiveResult() == .element(1), "queued elements outlive the close")
        #expect(unbounded.tryReceiveResult() == .closed)
        #expect(unbounded.tryReceiveResult().element == nil)

        let bounded = try BoundedAsyncChannel<Int>(capacity: 1)
        #expect(bounded.tryReceiveResult() == .empty)
        try bounded.trySend(2)
        bounded.close()
        #expect(bounded.tryReceiveResult() == .element(2))
        #expect(bounded.tryReceiveResult() == .closed)
    }

    @Test func aRendezvousHandsOverAWaitingSendersElement() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 0)
        #expect(channel.tryReceiveResult() == .empty)
        let sender = Task { try await channel.send(3) }
        await waitUntil("the sender to wait") { channel.waitingSenders == 1 }
        #expect(channel.tryReceiveResult() == .element(3))
        try await sender.value
    }
}

import AsyncChannels
import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

@testable import Hatch

extension HatchReceiver {
    /// Whether a select is registered as this hatch's waiting receiver.
    var hasWaitingSelect: Bool {
        let state = storage.lock()
        defer { storage.unlock(state) }
        return storage.receiverSelect != nil
    }
}

extension HatchSender {
    /// Whether a select is registered as this hatch's waiting sender.
    var hasWaitingSelect: Bool {
        let state = storage.lock()
        defer { storage.unlock(state) }
        if case .select = storage.senderWaiter { return true }
        return false
    }
}

/// Hatch and multishot receivers as select cases: ready with a value or a closure, the value
/// taken only when the case is chosen, and a lazy sender that sees a select as its waiting
/// receiver.
@Suite("Select over hatches", .stressTimeLimit)
struct SelectHatchTests {
    enum Got: Equatable {
        case hatch(Int?)
        case multishot(Int?)
        case channel(Int?)
        case timedOut
    }

    @Test func aHatchValueIsTakenOnlyWhenChosen() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let channel = AsyncChannel<Int>()
        try sender.trySend(1)
        #expect(try await select(receiver.onReceive { Got.hatch($0) }, channel.onReceive { .channel($0) }) == .hatch(1))
        // Waiting: a value wakes the select.
        let selecting = Task {
            try await select(receiver.onReceive { Got.hatch($0) }, channel.onReceive { .channel($0) })
        }
        await waitUntil("the select to wait") { receiver.hasWaitingSelect }
        try sender.trySend(2)
        #expect(try await selecting.value == .hatch(2))
        // Another case wins: the value stays in the hatch.
        let other = Task { try await select(receiver.onReceive { Got.hatch($0) }, channel.onReceive { .channel($0) }) }
        await waitUntil("the select to wait") { receiver.hasWaitingSelect }
        try channel.send(3)
        #expect(try await other.value == .channel(3))
        try sender.trySend(4)
        #expect(try receiver.tryReceive() == 4, "the value sent after the select ended stayed")
        sender.close()
        #expect(
            try await select(receiver.onReceive { Got.hatch($0) }, channel.onReceive { .channel($0) }) == .hatch(nil))
    }

    @Test func aLazySenderSeesASelectAsItsReceiver() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let producer = Task {
            try await sender.waitForReceiver()
            try sender.trySend(9)
        }
        let got = try await select(receiver.onReceive { Got.hatch($0) }, SelectTimeout(.seconds(3600)) { .timedOut })
        #expect(got == .hatch(9))
        try await producer.value
    }

    @Test func aMultishotRoundIsTakenOnlyWhenChosen() async throws {
        let receiver = MultishotReceiver<Int>()
        let loop = try LoopThread(name: "multishot-select")
        defer { loop.shutdown() }
        for round in 0..<200 * stressFactor {
            // The thread holds the round's only sender reference: releasing it ends the round.
            let box = LockedValue(receiver.sender())
            try #require(box.withLock { $0 } != nil)
            let replier = PlainThread {
                let sender = box.withLock { $0.take() }!
                if round % 3 != 2 { sender.send(round) }
            }
            let got = try await Task(executorPreference: loop.dispatcher) {
                try await select(receiver.onReceive { Got.multishot($0) }, SelectTimeout(.seconds(3600)) { .timedOut })
            }.value
            await replier.join()
            #expect(got == .multishot(round % 3 == 2 ? nil : round), "round \(round)")
        }
        // A timeout wins: the round's value stays for the next receive.
        let sender = try #require(receiver.sender())
        #expect(
            try await select(receiver.onReceive { Got.multishot($0) }, SelectTimeout(.milliseconds(2)) { .timedOut })
                == .timedOut)
        sender.send(7)
        #expect(try await receiver.receive() == 7)
    }

    /// The receiver's select loses to another case while the sender is sending, round after
    /// round: the value is then received by the next select, never lost nor seen twice.
    @Test(.heavyStress) func multishotSelectsLosingToAnotherCaseLoseNothing() async throws {
        let receiver = MultishotReceiver<Int>()
        let channel = AsyncChannel<Int>()
        var fromMultishot = 0
        var fromChannel = 0
        let rounds = 500 * stressFactor
        for round in 0..<rounds {
            let sender = try #require(receiver.sender())
            let producer = PlainThread {
                sender.send(round)
                try? channel.send(round)
            }
            var gotRound = false
            var gotElement = false
            while !gotRound {
                switch try await select(receiver.onReceive { Got.multishot($0) }, channel.onReceive { .channel($0) }) {
                case .multishot(let value):
                    #expect(value == round, "round \(round)")
                    gotRound = true
                    fromMultishot += 1
                case .channel(let value):
                    #expect(value == round && !gotElement, "round \(round)")
                    gotElement = true
                    fromChannel += 1
                default:
                    Issue.record("round \(round): neither case")
                }
            }
            if !gotElement {
                #expect(try await channel.receive() == round)
                fromChannel += 1
            }
            await producer.join()
        }
        #expect(fromMultishot == rounds && fromChannel == rounds)
    }

    @Test func selectSyncOnAHatchFromAPlainThread() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let got = LockedValue<[Got]>([])
        let thread = PlainThread {
            let value = try! selectSync(
                receiver.onReceive { Got.hatch($0) }, SelectTimeout(.seconds(3600)) { .timedOut })
            got.withLock { $0.append(value) }
        }
        try await sender.send(5)
        await thread.join()
        #expect(got.withLock { $0 } == [.hatch(5)])
    }
}

/// A hatch's send as a select case.
@Suite("Select sends into hatches", .stressTimeLimit)
struct SelectHatchSendTests {
    @Test func aSendCaseWaitsForRoomAndSendsOnlyWhenChosen() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let other = AsyncChannel<Int>()
        #expect(try await select(sender.onSend(1) { $0 }, other.onReceive { _ in false }))
        // Full: the select waits until the receiver takes the value.
        let selecting = Task { try await select(sender.onSend(2) { $0 }, other.onReceive { _ in false }) }
        await waitUntil("the select to wait") { sender.hasWaitingSelect }
        #expect(try receiver.tryReceive() == 1)
        #expect(try await selecting.value)
        #expect(try receiver.tryReceive() == 2)
        // Another case wins: nothing is sent.
        try sender.trySend(3)
        let losing = Task { try await select(sender.onSend(4) { $0 }, other.onReceive { _ in false }) }
        await waitUntil("the select to wait") { sender.hasWaitingSelect }
        try other.send(0)
        #expect(try await losing.value == false)
        #expect(try receiver.tryReceive() == 3)
        #expect(try receiver.tryReceive() == nil, "the losing send put nothing in")
        receiver.close()
        #expect(try await select(sender.onSend(5) { $0 }, other.onReceive { _ in false }) == false)
    }

    @Test(.heavyStress) func sendSelectsAndTimeoutsLoseAndDuplicateNothing() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let count = 2_000 * stressFactor
        let received = LockedValue<[Int]>([])
        let consumer = PlainThread {
            while let value = try? receiver.receiveSync() {
                received.withLock { $0.append(value) }
            }
        }
        var next = 0
        while next < count {
            let sent = try await select(sender.onSend(next) { $0 }, SelectTimeout(.microseconds(50)) { false })
            if sent { next += 1 }
        }
        sender.close()
        await consumer.join()
        #expect(received.withLock { $0 } == Array(0..<count))
    }
}

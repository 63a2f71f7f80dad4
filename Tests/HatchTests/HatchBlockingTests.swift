import EventLoop
import Glibc
import LoopTestSupport
import LoopUtilities
import Testing

@testable import Hatch

/// The blocking calls of hatches and multishots: plain threads park until a value, room, a
/// close or their deadline; threads that run a loop are refused, and only where they would
/// wait.
@Suite("Hatch blocking calls", .stressTimeLimit)
struct HatchBlockingTests {
    static let long = Duration.seconds(3600)

    /// Runs `body` as a task on a fresh `LoopThread`.
    func onALoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        let loop = try LoopThread(name: "hatch-blocking")
        defer { loop.shutdown() }
        return await Task(executorPreference: loop.dispatcher) { body() }.value
    }

    /// What a blocking call ended with, as a word the tests compare.
    static func outcome<T>(_ body: () throws -> T) -> String {
        do {
            return "\(try body())"
        } catch let error as HatchWaitError {
            return error == .timedOut ? "timedOut" : "wouldBlockLoop"
        } catch let error as HatchSendError<Int> {
            switch error {
            case .wouldBlockLoop(let value): return "wouldBlockLoop(\(value))"
            case .timedOut(let value): return "timedOut(\(value))"
            case .closed(let value): return "closed(\(value))"
            case .full, .cancelled: return "other"
            }
        } catch is HatchClosedError {
            return "closed"
        } catch {
            return "other"
        }
    }

    // MARK: Plain threads block

    @Test func receiveSyncBlocksAPlainThreadUntilAValue() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let got = LockedValue<[String]>([])
        let thread = PlainThread {
            let first = Self.outcome { try receiver.receiveSync() }
            got.withLock { $0.append(first) }
            let second = Self.outcome { try receiver.receiveSync(timeout: Self.long) }
            got.withLock { $0.append(second) }
        }
        await waitUntil("the thread to park") { receiver.hasSuspendedReceive }
        try sender.trySend(3)
        await waitUntil("the thread to park again") { receiver.hasSuspendedReceive && got.withLock { $0.count } == 1 }
        try sender.trySend(4)
        await thread.join()
        #expect(got.withLock { $0 } == ["3", "4"])
        #expect(!receiver.hasSuspendedReceive)
    }

    @Test func sendSyncBlocksAPlainThreadUntilRoom() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        try sender.trySend(1)
        let got = LockedValue<[String]>([])
        let thread = PlainThread {
            let first = Self.outcome { try sender.sendSync(2) }
            got.withLock { $0.append(first) }
            let second = Self.outcome { try sender.sendSync(3, timeout: Self.long) }
            got.withLock { $0.append(second) }
        }
        await waitUntil("the thread to park") { sender.hasSuspendedSend }
        #expect(try receiver.tryReceive() == 1)
        await waitUntil("the thread to park again") { sender.hasSuspendedSend && got.withLock { $0.count } == 1 }
        #expect(try receiver.tryReceive() == 2)
        await thread.join()
        #expect(try receiver.tryReceive() == 3)
        #expect(got.withLock { $0 } == ["()", "()"])
    }

    @Test func aBlockedThreadGetsAValueHandedOverBeforeItsTimeoutAndTimesOutOtherwise() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let got = LockedValue<String?>(nil)
        let thread = PlainThread { got.withLock { $0 = Self.outcome { try receiver.receiveSync(timeout: Self.long) } } }
        await waitUntil("the thread to park") { receiver.hasSuspendedReceive }
        try sender.trySend(9)
        await thread.join()
        #expect(got.withLock { $0 } == "9")
        // Nothing comes: the thread times out, takes nothing, and a later value stays.
        let timedOut = PlainThread {
            got.withLock { $0 = Self.outcome { try receiver.receiveSync(timeout: .milliseconds(5)) } }
        }
        await timedOut.join()
        #expect(got.withLock { $0 } == "timedOut")
        #expect(!receiver.hasSuspendedReceive)
        try sender.trySend(10)
        #expect(try receiver.tryReceive() == 10)
    }

    @Test func closeWakesBlockedThreadsOnBothSides() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let got = LockedValue<[String]>([])
        let receiving = PlainThread {
            let outcome = Self.outcome { try receiver.receiveSync() }
            got.withLock { $0.append(outcome) }
        }
        await waitUntil("the receiver to park") { receiver.hasSuspendedReceive }
        sender.close()
        await receiving.join()
        let (sender2, receiver2) = makeHatch(of: Int.self)
        try sender2.trySend(1)
        let sending = PlainThread {
            let outcome = Self.outcome { try sender2.sendSync(2) }
            got.withLock { $0.append(outcome) }
        }
        await waitUntil("the sender to park") { sender2.hasSuspendedSend }
        receiver2.close()
        await sending.join()
        #expect(got.withLock { $0 } == ["closed", "closed(2)"])
    }

    @Test func aLazySenderSeesABlockedReceiver() async throws {
        let (sender, receiver) = makeHatch(of: [Int].self)
        let got = LockedValue<Int>(0)
        let thread = PlainThread { got.withLock { $0 = (try? receiver.receiveSync())?.count ?? -1 } }
        try await sender.waitForReceiver()  // the thread now waits on an empty slot
        try sender.trySend(Array(0..<100))
        await thread.join()
        #expect(got.withLock { $0 } == 100)
    }

    @Test func multishotReceiveSyncBlocksUntilTheSenderSendsOrIsReleased() async throws {
        let receiver = MultishotReceiver<Int>()
        let got = LockedValue<[String]>([])
        var roundSender = receiver.sender()
        let thread = PlainThread {
            let first = Self.outcome { try receiver.receiveSync() }
            got.withLock { $0.append(first) }
        }
        await waitUntil("the thread to park") { receiver.isWaiting }
        #expect(roundSender!.send(5))
        await thread.join()
        roundSender = receiver.sender()
        let dropped = PlainThread {
            let second = Self.outcome { try receiver.receiveSync(timeout: Self.long) }
            got.withLock { $0.append(second) }
        }
        await waitUntil("the thread to park") { receiver.isWaiting }
        roundSender = nil  // released without sending
        await dropped.join()
        // No sender made: closed at once, no wait.
        got.withLock { $0.append(Self.outcome { try receiver.receiveSync() }) }
        #expect(got.withLock { $0 } == ["5", "closed", "closed"])
        _ = roundSender
    }

    // MARK: Threads that run a loop are refused

    @Test func blockingCallsOnALoopThreadThrowInsteadOfParking() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let (fullSender, fullReceiver) = makeHatch(of: Int.self)
        try fullSender.trySend(1)
        let multishot = MultishotReceiver<Int>()
        let roundSender = multishot.sender()!
        let outcomes = try await onALoop { () -> [String] in
            [
                Self.outcome { try receiver.receiveSync() },
                Self.outcome { try receiver.receiveSync(timeout: .seconds(10)) },
                Self.outcome { try fullSender.sendSync(2) },
                Self.outcome { try fullSender.sendSync(3, timeout: .seconds(10)) },
                Self.outcome { try multishot.receiveSync() },
                Self.outcome { try multishot.receiveSync(timeout: .seconds(10)) },
            ]
        }
        #expect(
            outcomes == [
                "wouldBlockLoop", "wouldBlockLoop", "wouldBlockLoop(2)", "wouldBlockLoop(3)", "wouldBlockLoop",
                "wouldBlockLoop",
            ])
        #expect(!receiver.hasSuspendedReceive && !fullSender.hasSuspendedSend && !multishot.isWaiting)
        #expect(try fullReceiver.tryReceive() == 1, "the hatch is as it was")
        #expect(roundSender.send(4), "the round is still open")
        #expect(try await multishot.receive() == 4)
        _ = sender
        #expect(HatchWaitError.wouldBlockLoop.description.contains("call receive() from a task"))
    }

    /// Only a call that would wait is refused: a ready value, room and a closed hatch answer
    /// on a loop thread as anywhere.
    @Test func blockingCallsThatNeedNotWaitWorkOnALoopThread() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let multishot = MultishotReceiver<Int>()
        let roundSender = multishot.sender()!
        #expect(roundSender.send(7))
        let outcomes = try await onALoop { () -> [String] in
            var outcomes: [String] = []
            outcomes.append(Self.outcome { try sender.sendSync(1) })  // room
            outcomes.append(Self.outcome { try receiver.receiveSync() })  // ready
            outcomes.append(Self.outcome { try sender.sendSync(2, timeout: .seconds(10)) })
            outcomes.append(Self.outcome { try receiver.receiveSync(timeout: .seconds(10)) })
            outcomes.append(Self.outcome { try multishot.receiveSync() })
            sender.close()
            outcomes.append(Self.outcome { try receiver.receiveSync() })  // closed
            return outcomes
        }
        #expect(outcomes == ["()", "1", "()", "2", "7", "closed"])
    }

    /// A task and a thread waiting on the same side at once break the single-consumer rule:
    /// the process stops with a message.
    @Test func aTaskAndAThreadReceivingAtOnceStopTheProcess() async {
        await #expect(processExitsWith: .failure) {
            let (s, r) = makeHatch(of: Int.self)
            let first = Task { try await r.receive() }
            await waitUntil { r.hasSuspendedReceive }
            _ = try? r.receiveSync()  // second consumer: fatal error
            _ = await first.result
            _ = s
        }
    }
}

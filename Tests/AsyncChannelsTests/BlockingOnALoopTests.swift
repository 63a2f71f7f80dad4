import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

@testable import AsyncChannels

/// The blocking calls refuse, with ``ChannelError/wouldBlockLoop``, to park a thread that
/// runs a loop, and only when they would have to wait; plain threads still block.
@Suite("Blocking calls on a loop", .stressTimeLimit)
struct ChannelBlockingOnALoopTests {
    /// Runs `body` as a task on a fresh `LoopThread`.
    func onALoop<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        let loop = try LoopThread(name: "blocking")
        defer { loop.shutdown() }
        return await Task(executorPreference: loop.dispatcher) { body() }.value
    }

    // MARK: On a loop thread

    @Test func receiveSyncOnAnEmptyChannelOnALoopThrowsAtOnce() async throws {
        let channel = AsyncChannel<Int>()
        let error = try await onALoop { () -> ChannelError? in
            do throws(ChannelError) {
                _ = try channel.receiveSync()
                return nil
            } catch {
                return error
            }
        }
        #expect(error == .wouldBlockLoop)
        #expect(channel.waitingReceivers == 0)
        #expect(ChannelError.wouldBlockLoop.description.contains("call receive() or send(_:) from a task"))
    }

    @Test func receiveSyncWithAnElementReadyOrClosedOnALoopDoesNotThrowWouldBlock() async throws {
        let channel = AsyncChannel<Int>()
        try channel.send(1)
        try channel.send(2)
        channel.close()
        let results = try await onALoop { () -> [String] in
            (0..<3).map { _ in
                do throws(ChannelError) {
                    return "\(try channel.receiveSync())"
                } catch {
                    return "\(error == .closed ? "closed" : "other")"
                }
            }
        }
        #expect(results == ["1", "2", "closed"])
    }

    @Test func boundedReceiveSyncOnALoop() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 2)
        let results = try await onALoop { () -> [String] in
            var results: [String] = []
            for _ in 0..<2 {
                do throws(ChannelError) {
                    results.append("\(try channel.receiveSync())")
                } catch {
                    results.append(error == .wouldBlockLoop ? "wouldBlockLoop" : "other")
                }
                try? channel.trySend(5)
            }
            return results
        }
        #expect(results == ["wouldBlockLoop", "5"])
        #expect(channel.waitingReceivers == 0)
    }

    @Test func boundedSendSyncOnAFullChannelOnALoopHandsTheElementBack() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        let outcome = try await onALoop { () -> (first: Bool, reason: ChannelError?, element: Int?) in
            let first = (try? channel.sendSync(1)) != nil  // room: sends on the loop
            do throws(ChannelSendError<Int>) {
                try channel.sendSync(2)
                return (first, nil, nil)
            } catch {
                return (first, error.reason, error.element)
            }
        }
        #expect(outcome.first)
        #expect(outcome.reason == .wouldBlockLoop)
        #expect(outcome.element == 2)
        #expect(channel.count == 1)
        #expect(channel.waitingSenders == 0)
        #expect(channel.tryReceive() == 1)
    }

    /// A thread dispatcher refuses inside `waitFor`; between two `waitFor` calls its thread is
    /// plain and blocks in `receiveSync` until another thread sends.
    @Test func aThreadDispatcherMayBlockBetweenWaitFors() async throws {
        let channel = AsyncChannel<Int>()
        let outcome = LockedValue<[String]>([])
        let thread = PlainThread {
            do {
                let dispatcher = try Dispatcher.forCurrentThread()
                let inside = try dispatcher.waitFor { () -> String in
                    do throws(ChannelError) {
                        return "\(try channel.receiveSync())"
                    } catch {
                        return error == .wouldBlockLoop ? "wouldBlockLoop" : "other"
                    }
                }
                outcome.withLock { $0.append(inside) }
                let value = try channel.receiveSync()
                outcome.withLock { $0.append("\(value)") }
            } catch {
                outcome.withLock { $0.append("unexpected:\(error)") }
            }
        }
        await waitUntil { channel.waitingReceivers == 1 }
        try channel.send(9)
        await thread.join()
        #expect(outcome.withLock { $0 } == ["wouldBlockLoop", "9"])
    }

    /// The fallback drain of a shut-down dispatcher stands in for its loop: it refuses too.
    @Test func receiveSyncOnTheFallbackDrainThrows() async throws {
        let loop = try LoopThread(name: "drained")
        let dispatcher = loop.dispatcher
        loop.shutdown()
        let channel = AsyncChannel<Int>()
        let error = await Task(executorPreference: dispatcher) { () -> ChannelError? in
            do throws(ChannelError) {
                _ = try channel.receiveSync()
                return nil
            } catch {
                return error
            }
        }.value
        #expect(error == .wouldBlockLoop)
    }

    // MARK: On plain threads, as before

    @Test func receiveSyncStillBlocksAPlainThread() async throws {
        let channel = AsyncChannel<Int>()
        let bounded = try BoundedAsyncChannel<Int>(capacity: 1)
        let received = LockedValue<[Int]>([])
        let thread = PlainThread {
            let a = try? channel.receiveSync()
            let b = try? bounded.receiveSync()
            received.withLock { $0 = [a ?? -1, b ?? -1] }
        }
        await waitUntil { channel.waitingReceivers == 1 }
        try channel.send(3)
        await waitUntil { bounded.waitingReceivers == 1 }
        try bounded.trySend(4)
        await thread.join()
        #expect(received.withLock { $0 } == [3, 4])
    }

    @Test func sendSyncStillBlocksAPlainThreadOnAFullChannel() async throws {
        let channel = try BoundedAsyncChannel<Int>(capacity: 1)
        try channel.trySend(1)
        let sent = LockedValue<Bool?>(nil)
        let thread = PlainThread {
            let ok = (try? channel.sendSync(2)) != nil
            sent.withLock { $0 = ok }
        }
        await waitUntil { channel.waitingSenders == 1 }
        #expect(channel.tryReceive() == 1)
        await thread.join()
        #expect(sent.withLock { $0 } == true)
        #expect(channel.tryReceive() == 2)
    }
}

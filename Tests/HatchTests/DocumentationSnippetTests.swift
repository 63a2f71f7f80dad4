import Foundation
import Hatch
import Synchronization
import Testing

/// The snippets of Hatch.docc/UsingHatches.md, kept compiling and passing.
@Suite("Documentation snippets", .stressTimeLimit)
struct DocumentationSnippetTests {
    @Test func hatch() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        try sender.trySend(42)
        #expect(try await receiver.receive() == 42)
        try sender.trySend(420)
        #expect(try await receiver.receive() == 420)

        // The slot is full: the value comes back in the error.
        try sender.trySend(1)
        #expect(throws: HatchSendError.full(2)) { try sender.trySend(2) }

        // In overwrite mode the newest value wins and the replaced one is returned.
        sender.overwrites = true
        #expect(try sender.trySend(3) == 1)
        #expect(try receiver.tryReceive() == 3)
    }

    @Test func cancellation() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        let waiting = Task { try await receiver.receive() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        try sender.trySend(1)  // the hatch is still open
        #expect(try await receiver.receive() == 1)
    }

    @Test func timeoutsAndBlockingCalls() async throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        await #expect(throws: HatchWaitError.timedOut) { try await receiver.receive(timeout: .milliseconds(5)) }
        try sender.trySend(1)  // the slot is full now
        await #expect(throws: HatchSendError.timedOut(2)) { try await sender.send(2, timeout: .milliseconds(5)) }
        #expect(try receiver.receiveSync(timeout: .zero) == 1)  // ready: taken at once

        // A plain thread blocks in sendSync while the slot is full; the task receives.
        Thread.detachNewThread {
            for value in 2...3 { try? sender.sendSync(value) }
        }
        #expect(try await receiver.receive(timeout: .seconds(10)) == 2)
        #expect(try await receiver.receive(timeout: .seconds(10)) == 3)
    }

    @Test func lazySend() async throws {
        let (sender, receiver) = makeHatch(of: [Int].self)
        let consumer = Task { try await receiver.receive() }
        try await sender.waitForReceiver()  // the receiver now waits on an empty slot
        try sender.trySend(Array(0..<1_000))  // produced only now
        #expect(try await consumer.value.count == 1_000)
    }

    @Test func recovery() throws {
        let (sender, receiver) = makeHatch(of: Int.self)
        receiver.close()
        #expect(throws: HatchSendError.closed(1)) { try sender.trySend(1) }
        let newReceiver = try sender.recover()
        try sender.trySend(2)
        #expect(try newReceiver.tryReceive() == 2)
        #expect(throws: HatchRecoverError.live) { try sender.recover() }
    }

    @Test func oneshot() async throws {
        let (reply, response) = makeOneshot(of: String.self)
        Task { try reply.trySend("done") }
        #expect(try await response.receive() == "done")
        #expect(response.isClosed)
    }

    @Test func multishot() async throws {
        let receiver = MultishotReceiver<String>()
        let sender = receiver.sender()!
        Thread.detachNewThread { sender.send("42") }  // any thread
        #expect(try await receiver.receive() == "42")

        let unused = receiver.sender()!
        _ = consume unused  // released without sending
        await #expect(throws: HatchClosedError.closed) { try await receiver.receive() }
        #expect(receiver.sender() != nil)  // and the receiver is reusable
    }

    final class Mailbox: Sendable {
        let slot = Atomic<Int>(0)
        let sink = WakeSink()

        func trySend(_ value: Int) -> Bool {
            let stored = slot.compareExchange(expected: 0, desired: value, ordering: .releasing).exchanged
            if stored { sink.source().notify() }
            return stored
        }

        func receive() async throws -> Int {
            try await sink.wait { () -> Int? in
                let value = slot.exchange(0, ordering: .acquiring)
                return value == 0 ? nil : value
            }
        }
    }

    @Test func wakeSinkMailbox() async throws {
        let mailbox = Mailbox()
        let consumer = Task { try await mailbox.receive() }
        while !mailbox.trySend(7) { await Task.yield() }
        #expect(try await consumer.value == 7)
    }
}

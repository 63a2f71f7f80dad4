import AsyncChannels
import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

// The code samples of the DocC article `WaitingOnSeveralThings.md`, verbatim, so that they
// are proven to compile and to do what the text says. Keep them in step.

enum Event {
    case request(Int)
    case requestsClosed
    case shutdown
    case idle
}

func nextEvent(requests: AsyncChannel<Int>, shutdown: ThreadSignal) async throws -> Event {
    try await select(
        requests.onReceive { request in request.map(Event.request) ?? .requestsClosed },
        shutdown.onFire { _ in .shutdown },
        SelectTimeout(.seconds(1)) { .idle }
    )
}

func lossyNext(_ a: AsyncChannel<Int>, _ b: AsyncChannel<Int>) async throws -> Int? {
    try await withThrowingTaskGroup(of: Int?.self) { group in
        group.addTask { try await a.receive() }
        group.addTask { try await b.receive() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(10))
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()  // a loser that has already received keeps its element...
        return first  // ...and the group throws it away
    }
}

func forward(_ job: Int, to fast: BoundedAsyncChannel<Int>, orTo slow: BoundedAsyncChannel<Int>) async throws
    -> Bool
{
    // Prefer the fast queue when both have room; wait for whichever has room first.
    try await select(
        biased: true,
        fast.onSend(job) { sent in sent },
        slow.onSend(job) { sent in sent }
    )
}

/// On a worker thread: the next job, or nil once the jobs are closed or a second passes.
func nextJobOnAThread(_ jobs: AsyncChannel<Int>) throws -> Int? {
    try selectSync(
        jobs.onReceive { job in job },
        SelectTimeout(.seconds(1)) { nil }
    )
}

@Suite("Waiting on several things (DocC)", .stressTimeLimit)
struct SelectDocumentationSnippetTests {
    @Test func nextEventTellsEveryOutcomeApart() async throws {
        let requests = AsyncChannel<Int>()
        let shutdown = try ThreadSignal()
        try requests.send(1)
        guard case .request(1) = try await nextEvent(requests: requests, shutdown: shutdown) else {
            Issue.record("the queued request comes first")
            return
        }
        shutdown.fire()
        guard case .shutdown = try await nextEvent(requests: requests, shutdown: shutdown) else {
            Issue.record("the fire is seen")
            return
        }
        requests.close()
        guard case .requestsClosed = try await nextEvent(requests: requests, shutdown: shutdown) else {
            Issue.record("the closure is seen")
            return
        }
    }

    /// The lossy race loses an element when both channels are ready at once; select, in the
    /// same situation, leaves the other element where it was.
    @Test func theTaskGroupRaceLosesWhatSelectKeeps() async throws {
        var lost = 0
        for _ in 0..<200 {
            let a = AsyncChannel<Int>()
            let b = AsyncChannel<Int>()
            try a.send(1)
            try b.send(2)
            _ = try await lossyNext(a, b)
            if a.count + b.count == 0 { lost += 1 }
        }
        #expect(lost > 0, "both children received in some round, and one element was thrown away")
        let a = AsyncChannel<Int>()
        let b = AsyncChannel<Int>()
        try a.send(1)
        try b.send(2)
        _ = try await select(a.onReceive { $0 }, b.onReceive { $0 })
        #expect(a.count + b.count == 1, "select took exactly one")
    }

    @Test func forwardPrefersTheFastQueue() async throws {
        let fast = try BoundedAsyncChannel<Int>(capacity: 1)
        let slow = try BoundedAsyncChannel<Int>(capacity: 1)
        #expect(try await forward(1, to: fast, orTo: slow))
        #expect(try await forward(2, to: fast, orTo: slow))
        #expect(fast.tryReceive() == 1 && slow.tryReceive() == 2)
    }

    @Test func nextJobOnAThreadEndsOnClose() async throws {
        let jobs = AsyncChannel<Int>()
        try jobs.send(5)
        jobs.close()
        let got = Collector<Int?>()
        let thread = PlainThread {
            got.append(try! nextJobOnAThread(jobs))
            got.append(try! nextJobOnAThread(jobs))
        }
        await thread.join()
        #expect(got.all == [5, nil])
    }
}

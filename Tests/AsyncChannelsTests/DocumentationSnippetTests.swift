import AsyncChannels
import EventLoop
import Foundation  // only for Thread, a plain OS thread, as in AsyncChannel's example
import LoopTestSupport
import LoopUtilities
import Testing

// The code samples of the DocC article `ChoosingAChannel.md` and of `AsyncChannel`'s type
// documentation, verbatim, so that they are proven to compile and to do what the text says.
// Keep them in step.

// `AsyncChannel`'s type documentation.
func squares(upTo n: Int) async -> [Int] {
    let results = AsyncChannel<Int>()
    let worker = Thread {  // any plain thread: a send never blocks
        for i in 1...n { try? results.send(i * i) }
        results.close()
    }
    worker.start()
    var squares: [Int] = []
    for await square in results { squares.append(square) }  // a task, e.g. on a Dispatcher
    return squares
}

// `ChoosingAChannel.md`.

/// Runs on any plain thread: a pool worker, a blocking I/O thread, a C callback.
func finishJob(_ id: Int, results: AsyncChannel<String>) {
    do {
        try results.send("job \(id) done")
    } catch {
        // The channel was closed; `error.element` is the result nobody will read.
        print("dropped: \(error.element) (\(error.reason))")
    }
}

func collectResults(_ results: AsyncChannel<String>, on loop: LoopThread) async -> [String] {
    await Task(executorPreference: loop.dispatcher) {
        var lines: [String] = []
        for await line in results { lines.append(line) }  // ends once closed and drained
        return lines
    }.value
}

/// The body of a dedicated thread that performs blocking calls for async code.
func serveBlockingRequests(_ requests: AsyncChannel<Int>, replies: AsyncChannel<Int>) {
    while let request = try? requests.receiveSync() {  // throws once closed and drained
        try? replies.send(request * 2)
    }
}

func produceJobs(_ jobs: BoundedAsyncChannel<Int>) async throws {
    for job in 0..<100 {
        try await jobs.send(job)  // suspends while `capacity` jobs wait
    }
    jobs.close()
}

func offerJob(_ job: Int, to jobs: BoundedAsyncChannel<Int>) -> Bool {
    do {
        try jobs.trySend(job)
        return true
    } catch {
        return false  // error.reason is .full or .closed; error.element == job
    }
}

// AsyncChannels.md: a wait with a timeout.
func nextJob(from jobs: AsyncChannel<Int>) async throws -> Int? {
    do {
        return try await jobs.receive(timeout: .seconds(1))
    } catch let error as ChannelError where error == .timedOut {
        return nil  // nothing within a second; the channel is unchanged
    }
}

// ChoosingAChannel.md: receiving in batches.
func sumBatches(_ values: AsyncChannel<Int>) async -> Int {
    var batch: [Int] = []
    var sum = 0
    while (try? await values.receive(upTo: 256, into: &batch)) != nil {  // ends once closed and drained
        sum += batch.reduce(0, +)
        batch.removeAll(keepingCapacity: true)  // one array for the whole loop
    }
    return sum
}

@Suite("Documentation snippets") struct DocumentationSnippetTests {
    @Test(.stressTimeLimit) func asyncChannelTypeExample() async {
        #expect(await squares(upTo: 5) == [1, 4, 9, 16, 25])
    }

    @Test(.stressTimeLimit) func resultsFromPlainThreads() async throws {
        let loop = try LoopThread(name: "docs")
        defer { loop.shutdown() }
        let results = AsyncChannel<String>()
        let collected = Task { await collectResults(results, on: loop) }
        await onPlainThreads(4) { id in finishJob(id, results: results) }
        results.close()
        finishJob(99, results: results)  // dropped: closed
        let lines = await collected.value
        #expect(lines.sorted() == (0..<4).map { "job \($0) done" })
    }

    @Test(.stressTimeLimit) func blockingServerThread() async throws {
        let requests = AsyncChannel<Int>()
        let replies = AsyncChannel<Int>()
        let server = PlainThread { serveBlockingRequests(requests, replies: replies) }
        for request in 1...3 { try requests.send(request) }
        var got: [Int] = []
        for _ in 1...3 { got.append(try await replies.receive()) }
        requests.close()
        await server.join()
        #expect(got == [2, 4, 6])
    }

    @Test(.stressTimeLimit) func boundedJobs() async throws {
        let jobs = try BoundedAsyncChannel<Int>(capacity: 16)
        let producer = Task { try await produceJobs(jobs) }
        var sum = 0
        for await job in jobs { sum += job }
        try await producer.value
        #expect(sum == 99 * 100 / 2)

        let small = try BoundedAsyncChannel<Int>(capacity: 1)
        #expect(offerJob(1, to: small))
        #expect(!offerJob(2, to: small))
    }

    @Test(.stressTimeLimit) func receiveWithATimeout() async throws {
        let jobs = AsyncChannel<Int>()
        try jobs.send(4)
        #expect(try await nextJob(from: jobs) == 4)
        // The documented one-second wait times out on an empty channel.
        #expect(try await nextJob(from: jobs) == nil)
    }

    @Test(.stressTimeLimit) func receiveInBatches() async throws {
        let values = AsyncChannel<Int>()
        for value in 1...1000 { try values.send(value) }
        values.close()
        #expect(await sumBatches(values) == 1000 * 1001 / 2)
    }
}

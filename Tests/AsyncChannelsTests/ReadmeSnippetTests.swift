import AsyncChannels
import EventLoop
import Foundation  // only for Thread, a plain OS thread
import Testing

/// The README's channel example, verbatim apart from the assertion. Keep both in step.
@Test(.stressTimeLimit) func readmeChannelExample() async throws {
    let loop = try LoopThread(name: "consumer")
    let channel = AsyncChannel<Int>()

    // Any plain thread (a pool worker, a C callback) sends without blocking.
    let producer = Thread {
        for i in 0..<1000 { try? channel.send(i) }
        channel.close()
    }
    producer.start()

    // A task on the loop receives; each wake goes through the loop's inbox.
    let sum = await Task(executorPreference: loop.dispatcher) {
        var sum = 0
        for await value in channel { sum += value }
        return sum
    }.value
    #expect(sum == 499_500)
    loop.shutdown()
}

/// The README's select example, verbatim apart from the assertions. Keep both in step.
@Test(.stressTimeLimit) func readmeSelectExample() async throws {
    let jobs = AsyncChannel<Int>()
    let shutdown = try ThreadSignal()
    try jobs.send(7)

    let next: Int? = try await select(
        jobs.onReceive { job in job },  // nil once jobs is closed and drained
        shutdown.onFire { _ in nil },
        SelectTimeout(.milliseconds(100)) { nil }
    )
    // next == 7: the element was ready, so nothing waited and no timer was armed.
    #expect(next == 7)
    shutdown.fire()
    #expect(shutdown.waitSync(timeout: .zero), "the signal kept its own state")
}

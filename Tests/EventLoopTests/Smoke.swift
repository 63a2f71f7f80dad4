import EventLoop
import LoopTestSupport
import Testing
@Test func loopRunsTask() async throws {
    let loop = try LoopThread()
    defer { loop.shutdown() }
    let d = loop.dispatcher
    #expect(await Task(executorPreference: d) { d.inLoop }.value)
}

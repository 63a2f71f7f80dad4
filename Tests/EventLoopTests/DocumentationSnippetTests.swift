import EventLoop
import LoopTestSupport
import LoopUtilities
import Synchronization
import Testing

/// The code of the README and the EventLoop articles, kept here so it is proven to compile
/// and run. Keep both in step.
@Suite("Documentation snippets", .stressTimeLimit)
struct DocumentationSnippetTests {
    @Test func gettingStarted() async throws {
        let loop = try LoopThread(name: "io")
        defer { loop.shutdown() }
        let onLoop = await Task(executorPreference: loop.dispatcher) {
            loop.dispatcher.inLoop  // true: this closure runs on the loop thread
        }.value
        #expect(onLoop)

        let ran = try ThreadSignal()
        loop.dispatcher.execute {
            ran.fire()  // runs on the loop thread
        }
        try await ran.wait()

        let answer = Mutex<Int?>(nil)
        await PlainThread {
            let dispatcher = try! Dispatcher.forCurrentThread()
            let value = try! dispatcher.waitFor {
                try await dispatcher.sleep(for: .milliseconds(10))
                return 42
            }
            answer.withLock { $0 = value }
        }.join()
        #expect(answer.withLock { $0 } == 42)
    }
}

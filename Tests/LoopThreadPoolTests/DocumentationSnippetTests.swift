import EventLoop
import LoopThreadPool
import Testing

/// The snippet of LoopThreadPool.docc/UsingThreadPool.md, kept compiling and passing. Keep
/// both in step.
@Suite("Documentation snippets", .stressTimeLimit)
struct DocumentationSnippetTests {
    @Test func usingThreadPool() async throws {
        let pool = try ThreadPool(threads: 2, name: "blocking")
        defer { pool.shutdown() }

        // From any task, on any executor: a loop, the global pool, an actor.
        let sum = try await pool.run {
            (1...1_000).reduce(0, +)  // stands for blocking or CPU-heavy work
        }
        #expect(sum == 500_500)

        // Errors thrown by the work reach the caller.
        struct Unreadable: Error {}
        await #expect(throws: Unreadable.self) {
            try await pool.run { () throws -> Int in throw Unreadable() }
        }

        // Fire and forget: nobody waits, the work reports its own outcome.
        let done = try ThreadSignal()
        try pool.submit { done.fire() }
        try await done.wait()
    }
}

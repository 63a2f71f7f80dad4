import LoopThreadPool
import Testing

/// The README's thread pool example, verbatim apart from the assertion. Keep both in step.
@Test(.stressTimeLimit) func readmeThreadPoolExample() async throws {
    let pool = try ThreadPool(threads: 4, name: "work")
    // From any task: a loop task, the global pool, an actor. Resumes where it was.
    let checksum = try await pool.run {
        // Blocking or CPU-heavy work runs on a plain thread, not on a loop or the cooperative pool.
        (0..<10_000).reduce(0) { ($0 &* 31) &+ $1 }
    }
    pool.shutdown()  // queued jobs run first; also done when the last reference goes
    #expect(checksum == (0..<10_000).reduce(0) { ($0 &* 31) &+ $1 })
}

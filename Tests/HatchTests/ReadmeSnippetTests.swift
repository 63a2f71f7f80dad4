import Hatch
import Testing

/// The README's oneshot example, verbatim apart from the assertion. Keep both in step.
@Test func readmeOneshotExample() async throws {
    let (reply, answer) = makeOneshot(of: Int.self)
    // On a worker thread:
    try reply.trySend(42)
    // In a task, anywhere:
    let value = try await answer.receive()  // 42
    #expect(value == 42)
}

import Testing

@testable import LoopUtilities

@Suite("Backoff")
struct BackoffTests {
    @Test func aBoundedSpinPausesExactlyLimitTimes() {
        var backoff = Backoff()
        var pauses = 0
        while backoff.pauseIfNotSpent() { pauses += 1 }
        #expect(pauses == Backoff.limit)
        let pausedAgain = backoff.pauseIfNotSpent()
        #expect(backoff.isSpent)
        #expect(!pausedAgain)
    }

    @Test func aSpentBackoffNeverPauses() {
        var backoff = Backoff.spent
        let paused = backoff.pauseIfNotSpent()
        #expect(backoff.isSpent)
        #expect(!paused)
    }

    @Test func spinAndSnoozeAdvanceTowardsTheLimit() {
        var spinning = Backoff()
        for _ in 0..<Backoff.limit { spinning.spin() }
        #expect(spinning.isSpent)
        var snoozing = Backoff()
        for _ in 0..<(Backoff.limit + 3) { snoozing.snooze() }  // the last three yield
        #expect(snoozing.isSpent)
    }
}

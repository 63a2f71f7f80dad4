import Testing

@testable import LoopUtilities

@Suite("Durations and deadlines")
struct NanosecondsTests {
    @Test func clampedNanoseconds() {
        #expect(Duration.zero.clampedNanoseconds == 0)
        #expect(Duration.nanoseconds(-1).clampedNanoseconds == 0)
        #expect(Duration(secondsComponent: 0, attosecondsComponent: -1).clampedNanoseconds == 0)
        #expect(Duration.seconds(Int64.min).clampedNanoseconds == 0)
        #expect(Duration(secondsComponent: 0, attosecondsComponent: 999_999_999).clampedNanoseconds == 0)
        #expect(Duration.nanoseconds(1).clampedNanoseconds == 1)
        #expect(Duration.milliseconds(1_500).clampedNanoseconds == 1_500_000_000)
        #expect(Duration.seconds(4_000_000_000).clampedNanoseconds == 4_000_000_000_000_000_000)
        #expect(Duration.seconds(Int64.max).clampedNanoseconds == Duration.longestWaitNanoseconds)
        #expect(Duration.nanoseconds(Int64.max).clampedNanoseconds == Duration.longestWaitNanoseconds)
    }

    @Test func deadlinesAreNeverInThePastNorPastTheLimit() {
        let now: UInt64 = 1_000
        #expect(deadline(after: .seconds(-5), now: now) == now)
        #expect(deadline(after: .zero, now: now) == now)
        #expect(deadline(after: .microseconds(2), now: now) == now + 2_000)
        #expect(deadline(after: .seconds(Int64.max), now: now) == UInt64(Duration.longestWaitNanoseconds))
        let later = deadline(after: .seconds(1))
        #expect(later >= monotonicNanoseconds())
    }
}

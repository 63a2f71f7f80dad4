import LoopTestSupport
import Testing

@testable import LoopUtilities

@Suite("IdleWait")
struct IdleWaitTests {
    @Test func aFreshHistorySpinsUntilMissesOutweighHits() {
        var history = IdleHistory()
        for _ in 0..<4 {
            #expect((history.shouldSpin() as Bool))
            history.record(hit: false, waited: 0, window: 50_000)
        }
        // Four misses: cold, no spin on the next waits.
        #expect(!history.isWarm)
        #expect(!(history.shouldSpin() as Bool))
    }

    /// A spinner descheduled past its window that sees the event when it runs again did not
    /// see it in time: such late hits count as misses, and cool the history as misses do.
    @Test func aHitSeenOnlyAfterTheWindowCountsAsAMiss() {
        var history = IdleHistory()
        for _ in 0..<4 { history.record(hit: true, waited: 3_000_000, window: 50_000) }
        #expect(!history.isWarm)
        var inTime = IdleHistory()
        for _ in 0..<4 { inTime.record(hit: true, waited: 50_000, window: 50_000) }
        #expect(inTime.isWarm)
    }

    @Test func hitsKeepAHistoryWarmWhileAThirdOfSpinsEndInTime() {
        var history = IdleHistory()
        for _ in 0..<100 {
            #expect((history.shouldSpin() as Bool))
            history.record(hit: true, waited: 1_000, window: 50_000)
            #expect((history.shouldSpin() as Bool))
            history.record(hit: false, waited: 0, window: 50_000)
            #expect((history.shouldSpin() as Bool))
            history.record(hit: false, waited: 0, window: 50_000)
        }
        #expect(history.isWarm)
    }

    @Test func aColdHistoryProbesLessAndLessOften() {
        var history = IdleHistory()
        for _ in 0..<4 { history.record(hit: false, waited: 0, window: 50_000) }
        var gaps: [Int] = []
        var sinceProbe = 0
        for _ in 0..<400 {
            if history.shouldSpin() {
                gaps.append(sinceProbe)
                sinceProbe = 0
                history.record(hit: false, waited: 0, window: 50_000)
            } else {
                sinceProbe += 1
            }
        }
        // 8, 16, 32, then 64 skipped waits between probes while they keep missing.
        #expect(Array(gaps.prefix(5)) == [8, 16, 32, 64, 64])
    }

    @Test func aProbeThatHitsBringsTheSpinningBack() {
        var history = IdleHistory()
        for _ in 0..<4 { history.record(hit: false, waited: 0, window: 50_000) }
        var waits = 0
        while !history.shouldSpin() { waits += 1 }
        #expect(waits == 8)
        history.record(hit: true, waited: 1_000, window: 50_000)
        #expect(history.isWarm)
        #expect((history.shouldSpin() as Bool))
        // And the next probe interval starts from the shortest again.
        history.record(hit: false, waited: 0, window: 50_000)
        history.record(hit: false, waited: 0, window: 50_000)
        #expect(!history.isWarm)
        waits = 0
        while !history.shouldSpin() { waits += 1 }
        #expect(waits == 8)
    }

    @Test func theSpinLengthFollowsHowLongWaitsTook() {
        let window: Int64 = 50_000
        var history = IdleHistory()
        #expect(history.spinLength(window: window) == window)
        // A hit after 1 µs: spin four times that next.
        history.record(hit: true, waited: 1_000, window: window)
        #expect(history.spinLength(window: window) == 4_000)
        // Misses double it, up to the window.
        history.record(hit: false, waited: 0, window: window)
        #expect(history.spinLength(window: window) == 8_000)
        history.record(hit: false, waited: 0, window: window)
        history.record(hit: false, waited: 0, window: window)
        #expect(history.spinLength(window: window) == 32_000)
        history.record(hit: false, waited: 0, window: window)
        #expect(history.spinLength(window: window) == window)
        // A very quick hit: the shortest spin; a slow one: the window at most.
        history.record(hit: true, waited: 100, window: window)
        #expect(history.spinLength(window: window) == IdleHistory.shortestSpinNanoseconds)
        history.record(hit: true, waited: 40_000, window: window)
        #expect(history.spinLength(window: window) == window)
        // A smaller window caps a length learnt under a larger one.
        #expect(history.spinLength(window: 10_000) == 10_000)
    }

    @Test func theHistoryRoundTripsThroughItsWord() {
        var history = IdleHistory()
        for _ in 0..<5 { history.record(hit: false, waited: 0, window: 50_000) }
        for _ in 0..<3 { _ = history.shouldSpin() }
        #expect(IdleHistory(rawValue: history.rawValue) == history)
        #expect(IdleHistory(rawValue: 0) == IdleHistory())
    }

    @Test func settingsEncodeKindAndWindow() {
        #expect(IdleSettings(rawValue: 0) == .default)
        #expect(IdleSettings.default.kind == .adaptive)
        #expect(IdleSettings.default.windowNanoseconds == IdleSettings.defaultWindowNanoseconds)
        let spin = IdleSettings(kind: .spin, windowNanoseconds: 1234)
        #expect(spin.kind == .spin && spin.windowNanoseconds == 1234)
        #expect(IdleSettings(kind: .never, windowNanoseconds: 99).windowNanoseconds == 0)
        #expect(IdleSettings(kind: .spin, windowNanoseconds: -5).windowNanoseconds == 0)
        #expect(
            IdleSettings(kind: .adaptive, windowNanoseconds: .max).windowNanoseconds
                == IdleSettings.maximumWindowNanoseconds)
    }

    @Test func noneNeverSpinsAndASpentSpinStaysSpent() {
        var none = IdleWait.none
        #expect(none.isSpent)
        let noneSaw = none.spin { true }
        #expect(!noneSaw)
        var spin = IdleWait.until(monotonicNanoseconds() + 1_000)
        var looks = 0
        let saw = spin.spin {
            looks += 1
            return true
        }
        #expect(!saw)
        #expect(looks > 0)
        #expect(spin.isSpent)
        let sawAgain = spin.spin { true }
        #expect(!sawAgain)
    }

    @Test func aSpinEndsAsSoonAsTheWaitDoes() {
        var spin = IdleWait.until(monotonicNanoseconds() + 60_000_000_000)
        var looks = 0
        let saw = spin.spin {
            looks += 1
            return looks < 10
        }
        #expect(saw)
        #expect(looks == 10)
    }

    @Test func aPlainThreadsSpinFollowsItsPolicyAndRecordsItsOutcome() async {
        // On a thread of its own: the settings are thread-local. The checks are collected
        // there and expected here, in the test's task.
        let checks = LockedValue<[Bool]>([])
        await onPlainThreads(1) { _ in
            var seen: [Bool] = []
            currentThreadIdleSettings = IdleSettings(kind: .never, windowNanoseconds: 0)
            seen.append(IdleWait.forPlainThread().isSpent)
            currentThreadIdleSettings = IdleSettings(kind: .adaptive, windowNanoseconds: 1_000)
            for _ in 0..<4 {
                var spin = IdleWait.forPlainThread()
                seen.append(!spin.isSpent)
                seen.append(!spin.spin { true })
            }
            // Four missed windows: the thread stops spinning.
            seen.append(!currentThreadIdleHistory.isWarm)
            seen.append(IdleWait.forPlainThread().isSpent)
            // A limit before the window ends the spin early and records nothing.
            currentThreadIdleSettings = IdleSettings(kind: .spin, windowNanoseconds: 60_000_000_000)
            var short = IdleWait.forPlainThread(limit: monotonicNanoseconds() + 1_000)
            seen.append(!short.spin { true })
            seen.append(currentThreadIdleHistory == IdleHistory())
            checks.withLock { $0 = seen }
        }
        let seen = checks.withLock { $0 }
        #expect(seen.count == 13)
        #expect(seen.allSatisfy { $0 }, "\(seen)")
    }
}

import EventLoop
import LoopTestSupport
import LoopUtilities
import Testing

/// `select` and `selectSync` with `ThreadSignal` cases, timeouts and defaults (the cases the
/// EventLoop module makes itself): a fire is consumed by exactly one waiter, and only by a
/// select that chooses it.
@Suite("Select over signals", .stressTimeLimit)
struct SelectSignalTests {
    enum Woke: Equatable {
        case first(Bool)
        case second(Bool)
        case timedOut
    }

    @Test func aFireGoesToTheSignalsCaseAndTheOtherSignalKeepsItsOwn() async throws {
        let a = try ThreadSignal()
        let b = try ThreadSignal()
        let selecting = Task { try await select(a.onFire { Woke.first($0) }, b.onFire { .second($0) }) }
        // Whether the fire comes before the select polls or after it registers, it is the one.
        b.fire()
        #expect(try await selecting.value == .second(true))
        #expect(!a.waitSync(timeout: .zero) && !b.waitSync(timeout: .zero), "one fire, consumed once")
        a.fire()
        b.fire()
        let chosen = try selectSync(a.onFire { Woke.first($0) }, b.onFire { .second($0) })
        let left = chosen == .first(true) ? b : a
        #expect(left.waitSync(timeout: .zero), "the case not chosen kept its fire")
    }

    @Test func aSelectThatTimesOutConsumesNoLaterFire() async throws {
        let signal = try ThreadSignal()
        let loop = try LoopThread(name: "signal-select")
        defer { loop.shutdown() }
        let timedOut = try await Task(executorPreference: loop.dispatcher) {
            try await select(signal.onFire { Woke.first($0) }, SelectTimeout(.milliseconds(2)) { .timedOut })
        }.value
        #expect(timedOut == .timedOut)
        signal.fire()
        #expect(signal.waitSync(timeout: .zero), "the fire after the timeout stayed for the next wait")
        #expect(
            try selectSync(signal.onFire { Woke.first($0) }, SelectTimeout(.milliseconds(2)) { .timedOut }) == .timedOut
        )
        #expect(try await select(signal.onFire { Woke.first($0) }, SelectDefault { .timedOut }) == .timedOut)
        signal.close()
        #expect(try await select(signal.onFire { Woke.first($0) }, SelectDefault { .timedOut }) == .first(false))
    }

    /// Selects with short timeouts (tasks on a loop, on the global executor, and a plain
    /// thread) and plain `wait()`s compete for fires; each fire is consumed exactly once:
    /// the firing thread waits for it to be taken before it fires again, so a fire given to
    /// a select that had already timed out would stall the test instead of passing.
    @Test(.heavyStress) func everyFireIsConsumedExactlyOnce() async throws {
        let fires = 500 * stressFactor
        let signal = try ThreadSignal()
        let consumed = Counter()
        let loop = try LoopThread(name: "fires")
        defer { loop.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3 {
                group.addTask(executorPreference: index < 2 ? loop.dispatcher : nil) {
                    while true {
                        let woke = try await select(
                            signal.onFire { Woke.first($0) },
                            SelectTimeout(.microseconds(50)) { .timedOut }
                        )
                        if woke == .first(false) { return }
                        if woke == .first(true) { consumed.add() }
                    }
                }
            }
            group.addTask {
                while (try? await signal.wait()) != nil { consumed.add() }
            }
            let selectingThread = PlainThread {
                while true {
                    let woke = try! selectSync(
                        signal.onFire { Woke.first($0) },
                        SelectTimeout(.microseconds(50)) { .timedOut }
                    )
                    if woke == .first(false) { return }
                    if woke == .first(true) { consumed.add() }
                }
            }
            let firing = PlainThread {
                for fire in 1...fires {
                    signal.fire()
                    spinUntil("fire \(fire) to be consumed") { consumed.value == fire }
                }
                signal.close()
            }
            try await group.waitForAll()
            await firing.join()
            await selectingThread.join()
        }
        #expect(consumed.value == fires)
    }
}

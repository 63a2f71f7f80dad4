import Glibc

/// One run of one implementation: how many operations to perform, the shared threads to
/// perform them on, and the meter that brackets the measured region.
///
/// Used by the harness thread only (the implementation's body runs on it and blocks until
/// its threads and tasks are done).
final class RunContext {
    /// Operations to perform in this run.
    let operations: Int
    /// The loops and the NIO event loop every implementation shares.
    let environment: BenchEnvironment
    /// Time of the measured region that is not the implementation's cost, subtracted before
    /// dividing by ``operations`` (the sleep itself in `timers-10k`). Set it before
    /// ``measure(_:)``.
    var excludedTime: Duration = .zero

    private(set) var sample: Sample?

    /// What one run measured, in totals.
    struct Sample {
        var elapsed: Duration
        var allocations: Int?
        var syscalls: Int
        /// CPU time the whole process used in the region, user plus system
        /// (`getrusage(RUSAGE_SELF)`), every thread's: what the work and any spinning cost.
        var cpu: Duration
        /// The run's latency percentiles, for implementations that time each operation.
        var latency: Latency?
    }

    /// Percentiles of one run's per-operation latencies, in nanoseconds.
    struct Latency {
        var p50: Double
        var p99: Double
    }

    init(operations: Int, environment: BenchEnvironment) {
        self.operations = operations
        self.environment = environment
    }

    /// Runs `body` as the measured region: wall time, allocations (every thread's, while
    /// the region runs) and the dispatchers' system-call counters.
    ///
    /// `body` must return only when all of the run's operations are complete. Call it
    /// exactly once per run.
    func measure(_ body: () throws -> Void) throws {
        precondition(sample == nil, "measure(_:) was called twice in one run")
        let syscallsBefore = environment.dispatcherSyscalls()
        AllocationCounter.start()
        let cpuBefore = processCPUTime()
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start - excludedTime
        let cpu = processCPUTime() - cpuBefore
        let allocations = AllocationCounter.stop()
        let syscalls = environment.dispatcherSyscalls() - syscallsBefore
        sample = Sample(elapsed: elapsed, allocations: allocations, syscalls: syscalls, cpu: cpu)
    }

    /// Records the latencies of this run's operations, in nanoseconds, for the p50 and p99
    /// columns (nearest rank). Call it after ``measure(_:)``, with the latencies it timed.
    func recordLatencies(_ nanoseconds: [Int64]) {
        precondition(sample != nil, "recordLatencies(_:) comes after measure(_:)")
        guard !nanoseconds.isEmpty else { return }
        let sorted = nanoseconds.sorted()
        func percentile(_ fraction: Double) -> Double {
            let rank = Int((fraction * Double(sorted.count)).rounded(.up))
            return Double(sorted[min(sorted.count, max(1, rank)) - 1])
        }
        sample?.latency = Latency(p50: percentile(0.50), p99: percentile(0.99))
    }
}

/// The CPU time the process has used so far, user plus system, all threads
/// (`getrusage(RUSAGE_SELF)`; the kernel counts it in microseconds).
func processCPUTime() -> Duration {
    var usage = rusage()
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return .zero }
    func duration(_ time: timeval) -> Duration { .seconds(time.tv_sec) + .microseconds(time.tv_usec) }
    return duration(usage.ru_utime) + duration(usage.ru_stime)
}

/// A failure that ends one implementation's runs; the table shows it instead of figures.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// Throws unless `condition` holds: every body checks that its operations happened.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw BenchError(message()) }
    }

    /// Throws unless `sum` is 0 + 1 + … + (count - 1): the values sent were all received once.
    static func checkSum(_ sum: Int, count: Int) throws {
        let expected = count * (count - 1) / 2
        try check(sum == expected, "received values sum to \(sum), expected \(expected): values were lost")
    }
}

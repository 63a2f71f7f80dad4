/// Runs scenarios: one warm-up run of every implementation, then ``runs`` rounds in which
/// every implementation runs once, in order — interleaved, so that the slow drifts of a
/// noisy machine (other builds, CPU migration) hit all implementations alike.
struct Runner {
    let environment: BenchEnvironment
    let quick: Bool
    let runs: Int
    /// Called with a short progress line (the harness prints it to standard error).
    let progress: (String) -> Void

    /// Runs every implementation of `scenario` and summarises each one's runs.
    func run(_ scenario: Scenario) -> [Measurement] {
        let operations = quick ? scenario.quickOperations : scenario.operations
        var samples = [[RunContext.Sample]](repeating: [], count: scenario.implementations.count)
        var failures = [String?](repeating: nil, count: scenario.implementations.count)

        for round in 0...runs {  // round 0 is the warm-up, at a tenth of the operations
            for (index, implementation) in scenario.implementations.enumerated() where failures[index] == nil {
                let count = Self.operations(operations, for: implementation, warmUp: round == 0)
                progress("\(scenario.name): \(round == 0 ? "warm-up" : "run \(round)/\(runs)") \(implementation.name)")
                let context = RunContext(operations: count, environment: environment)
                do {
                    try implementation.body(context)
                    guard let sample = context.sample else {
                        throw BenchError("the implementation never called measure(_:)")
                    }
                    if round > 0 { samples[index].append(sample) }
                } catch {
                    failures[index] = "\(error)"
                }
            }
        }

        return scenario.implementations.enumerated().map { index, implementation in
            let count = Self.operations(operations, for: implementation, warmUp: false)
            return Measurement(
                scenario: scenario.name,
                implementation: implementation,
                operations: count,
                samples: samples[index],
                failure: failures[index]
            )
        }
    }

    /// The operations of one run: a multiple of 4 so that 4 producers share them evenly.
    static func operations(_ base: Int, for implementation: Implementation, warmUp: Bool) -> Int {
        let scaled = base / implementation.operationsDivisor / (warmUp ? 10 : 1)
        return max(4, scaled / 4 * 4)
    }
}

/// The summary of one implementation's runs in one scenario, as reported.
struct Measurement: Sendable {
    let scenario: String
    let implementation: String
    let note: String?
    /// Operations per run (after the implementation's divisor).
    let operations: Int
    /// Median, min and max over the runs, in nanoseconds per operation.
    let nsPerOp: Double
    let minNs: Double
    let maxNs: Double
    /// Median allocations per operation; nil when the allocation counter does not work.
    let allocsPerOp: Double?
    /// Median system calls per operation; nil when not measurable in-process.
    let syscallsPerOp: Double?
    /// Median process CPU time per operation (user plus system, every thread), in
    /// nanoseconds: above `nsPerOp` when more than one thread works or spins meanwhile.
    let cpuNsPerOp: Double
    /// Medians over the runs of each run's 50th and 99th latency percentile, in
    /// nanoseconds; nil for implementations that do not time single operations.
    let p50Ns: Double?
    let p99Ns: Double?
    /// Why the implementation stopped, if it failed; its figures are then meaningless.
    let failure: String?

    init(
        scenario: String, implementation: Implementation, operations: Int, samples: [RunContext.Sample],
        failure: String?
    ) {
        self.scenario = scenario
        self.implementation = implementation.name
        self.note = implementation.note
        self.operations = operations
        self.failure = failure ?? (samples.isEmpty ? "no runs" : nil)
        let perOp = Double(operations)
        let nanoseconds = samples.map { Double($0.elapsed.nanoseconds) / perOp }.sorted()
        nsPerOp = Self.median(nanoseconds) ?? .nan
        minNs = nanoseconds.first ?? .nan
        maxNs = nanoseconds.last ?? .nan
        let allocations = samples.compactMap { $0.allocations.map { Double($0) / perOp } }
        allocsPerOp = allocations.count == samples.count ? Self.median(allocations.sorted()) : nil
        cpuNsPerOp = Self.median(samples.map { Double($0.cpu.nanoseconds) / perOp }.sorted()) ?? .nan
        let latencies = samples.compactMap(\.latency)
        let timed = !latencies.isEmpty && latencies.count == samples.count
        p50Ns = timed ? Self.median(latencies.map(\.p50).sorted()) : nil
        p99Ns = timed ? Self.median(latencies.map(\.p99).sorted()) : nil
        switch implementation.syscalls {
        case .dispatcherCounters:
            syscallsPerOp = Self.median(samples.map { Double($0.syscalls) / perOp }.sorted())
        case .fixed(let perOperation):
            syscallsPerOp = perOperation
        case .notMeasured:
            syscallsPerOp = nil
        }
    }

    private static func median(_ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating; benchmark runs are far shorter).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

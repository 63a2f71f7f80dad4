/// One benchmark scenario: a workload, and the implementations that perform it side by
/// side in one process.
///
/// Scenario and implementation names are a contract: the JSON output and the README's
/// chart use them exactly as the benchmark issue spells them.
struct Scenario: Sendable {
    /// The scenario's name, as in the JSON (`xthread-post-1p1c`).
    let name: String
    /// What one operation is, for the table and the README.
    let summary: String
    /// Operations per run in a full run.
    let operations: Int
    /// Operations per run with `--quick`.
    let quickOperations: Int
    /// The implementation every other one is compared with (the `× ref` column).
    let reference: String
    /// The contenders, run in this order within each round.
    let implementations: [Implementation]

    /// This scenario with only the implementations that `keep` accepts.
    func keepingImplementations(where keep: (String) -> Bool) -> Scenario {
        Scenario(
            name: name, summary: summary, operations: operations, quickOperations: quickOperations,
            reference: reference, implementations: implementations.filter { keep($0.name) })
    }
}

/// One contender in a scenario: a name as the JSON spells it and a body that performs
/// ``RunContext/operations`` operations inside ``RunContext/measure(_:)``.
///
/// The body builds what it needs (channels, threads, tasks) before calling `measure`, so
/// that set-up is not timed, and checks afterwards that every operation really happened.
struct Implementation: Sendable {
    /// How the harness counts system calls for an implementation.
    enum Syscalls: Sendable {
        /// Eventfd writes plus epoll waits of the benchmark's own dispatchers, read from
        /// `Dispatcher.counters` around the measured region.
        case dispatcherCounters
        /// Known by construction, per operation (the eventfd floor's read and write calls).
        case fixed(Double)
        /// Not measurable in-process (the peers' locks and futexes): reported as null.
        case notMeasured
    }

    /// The implementation's name, as in the JSON (`NIO.execute`).
    let name: String
    /// A caveat shown under the table, such as where the producer runs.
    let note: String?
    let syscalls: Syscalls
    /// Runs `operations / operationsDivisor` operations: for peers too slow to run the
    /// full count in reasonable time. Per-operation figures stay comparable.
    let operationsDivisor: Int
    let body: @Sendable (RunContext) throws -> Void

    init(
        _ name: String,
        note: String? = nil,
        syscalls: Syscalls = .notMeasured,
        operationsDivisor: Int = 1,
        body: @escaping @Sendable (RunContext) throws -> Void
    ) {
        self.name = name
        self.note = note
        self.syscalls = syscalls
        self.operationsDivisor = operationsDivisor
        self.body = body
    }
}

extension Scenario {
    /// Every scenario, in the order the issue lists them.
    static func all(_ environment: BenchEnvironment) -> [Scenario] {
        [
            .xthreadPost1p1c(environment),
            .xthreadPost4p1c(environment),
            .mpmc4p2c(environment),
            .pingPongThreadLoop(environment),
            .pingPongSameLoop(environment),
            .oneshot(environment),
            .wakeCrossThread(environment),
            .recvTimeoutReady(environment),
            .hatchRecvTimeoutReady(environment),
            .selectReady(environment),
            .selectWakeCrossThread(environment),
            .selectTimeout(environment),
            .poolRoundtrip(environment),
            .poolRoundtrip64(environment),
            .timers10k(environment),
            .serverLines(environment),
        ]
    }
}

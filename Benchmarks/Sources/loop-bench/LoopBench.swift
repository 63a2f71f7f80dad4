import Glibc

/// `loop-bench`: our channels and their peers, scenario by scenario, in one process.
///
/// Runs are interleaved across implementations (see ``Runner``); the table goes to standard
/// output, progress to standard error, and `--json FILE` writes the results for `plot.py`.
@main
enum LoopBench {
    static func main() {
        let options: Options
        do {
            options = try Options(arguments: CommandLine.arguments.dropFirst())
        } catch {
            writeStandardError("\(error)\n")
            exit(2)
        }
        if options.help {
            print(Options.usage)
            return
        }
        do {
            try run(options)
        } catch {
            writeStandardError("loop-bench: \(error)\n")
            exit(1)
        }
    }

    static func run(_ options: Options) throws {
        let probeAllocations = AllocationCounter.verify(count: 1_000)
        print(
            "loop-bench \(options.quick ? "--quick" : "(full)"), \(options.measuredRuns) interleaved runs per implementation"
        )
        print(
            AllocationCounter.isWorking
                ? "allocation counter: working (1000 class instances counted as \(probeAllocations) mallocs)"
                : "allocation counter: NOT working (counted \(probeAllocations) mallocs for 1000 instances); allocs/op reported as null"
        )

        let environment = try BenchEnvironment()
        defer { environment.shutdown() }
        let scenarios = Scenario.all(environment).filter { options.selects($0.name) }
            .map { $0.keepingImplementations(where: options.selectsImplementation) }
            .filter { !$0.implementations.isEmpty }
        try BenchError.check(
            !scenarios.isEmpty, "no scenario matches --filter \(options.filters) --impl \(options.implementations)")

        let runner = Runner(environment: environment, quick: options.quick, runs: options.measuredRuns) { line in
            writeStandardError("\u{1B}[2K\r\(line)")
        }
        let clock = ContinuousClock()
        var measurements: [Measurement] = []
        let elapsed = clock.measure {
            for scenario in scenarios {
                let operations = options.quick ? scenario.quickOperations : scenario.operations
                let rows = runner.run(scenario)
                writeStandardError("\u{1B}[2K\r")
                print("\n## \(scenario.name) — \(scenario.summary) (\(operations) ops per run)")
                print(Report.table(rows, scenarios: [scenario]))
                measurements += rows
            }
        }
        print("\n## All scenarios (\(Report.format(Double(elapsed.nanoseconds) / 1e9, decimals: 1)) s)")
        print(Report.table(measurements, scenarios: scenarios))
        if let path = options.jsonPath {
            try Report.write(Report.json(measurements), to: path)
            print("\nwrote \(path)")
        }
    }
}

/// Writes `text` to standard error (progress and errors; the table goes to standard output).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

// pipeline: sha256sum on a thread pipeline, printed from an event loop.
//
// A reader thread reads files into pooled buffers, a ThreadPool of hashers hashes them with
// SHA-256 (SHA256.swift; one job per file), and a task on a LoopThread prints
// sha256sum-compatible lines in command-line order.
// See Pipeline.swift for the shape of the pipeline.
import Glibc

let arguments: Arguments
do {
    arguments = try Arguments(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeAll(2, "pipeline: \(error.message)\n\(Arguments.usage)\n")
    exit(2)
}

if arguments.help {
    print(Arguments.usage)
    exit(0)
}

if arguments.selfTest {
    let passed = try await SelfTest(pipeline: arguments.pipeline).run()
    print(passed ? "self-test passed" : "self-test FAILED")
    exit(passed ? 0 : 1)
}

// Like sha256sum, no paths means standard input.
let given = arguments.paths.isEmpty ? ["-"] : arguments.paths
let paths = arguments.recursive ? expandDirectories(given) : given
let report = try await arguments.pipeline.run(paths: paths, output: 1, errors: 2)
exit(report.failed == 0 ? 0 : 1)

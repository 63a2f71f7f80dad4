// thread-pool: a task on an event loop runs many jobs on a ThreadPool's plain threads, with
// at most --in-flight of them outstanding, and prints their results in submission order.
import EventLoop
import Glibc
import LoopThreadPool

let arguments = CommandLine.arguments.dropFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(
        """
        usage: thread-pool [--jobs N] [--workers N] [--in-flight N] [--quiet] [--self-test]
          --jobs N        how many jobs to run (default 20, or 100000 with --self-test)
          --workers N     how many plain worker threads (default 4)
          --in-flight N   the most jobs submitted but not yet printed (default 256)
          --quiet         print only the summary
          --self-test     check order, completeness, every value and the in-flight bound;
                          exit 0 only if all hold
        Each job n computes the Collatz steps of a pseudo-random input; results are printed
        as "job <n>: collatz(<input>) = <steps>" in submission order.
        """)
    exit(0)
}

/// The value of `--name N`, `fallback` when absent; exits with a message when malformed.
func option(_ name: String, default fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name) else { return fallback }
    let next = arguments.index(after: index)
    guard next < arguments.endIndex, let value = Int(arguments[next]), value > 0 else {
        var message = "thread-pool: \(name) needs a positive integer (see --help)\n"
        message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    return value
}

let selfTest = arguments.contains("--self-test")
let quiet = selfTest || arguments.contains("--quiet")
let jobCount = option("--jobs", default: selfTest ? 100_000 : 20)
let workerCount = option("--workers", default: 4)
let inFlight = option("--in-flight", default: 256)

let loop = try LoopThread(name: "pool-loop")
let pool = try ThreadPool(threads: workerCount, name: "collatz")
let report = try await runJobs(jobCount, on: pool, inFlight: inFlight, on: loop.dispatcher) { id, input, value in
    if !quiet { print("job \(id): collatz(\(input)) = \(value)") }
}
let queuedAtEnd = pool.queuedJobCount
pool.shutdown()
let counters = loop.dispatcher.counters
loop.shutdown()

print(
    "\(jobCount) jobs on \(workerCount) worker threads, at most \(report.maxInFlight) in flight"
        + " (limit \(inFlight)), in \(report.elapsed)")
print(
    "\(report.reordered) results reached the loop before an earlier job's; loop: \(counters.jobsRun) jobs run,"
        + " \(counters.epollWaits) epoll waits, \(counters.eventfdWrites) eventfd writes")

if selfTest {
    var failures: [String] = []
    if report.order.count != jobCount {
        failures.append("printed \(report.order.count) results for \(jobCount) jobs")
    }
    if let position = report.order.indices.first(where: { report.order[$0] != $0 }) {
        failures.append("position \(position) printed job \(report.order[position])")
    }
    let wrong = report.order.indices.filter { report.values[$0] != collatzSteps(input(forJob: report.order[$0])) }
    if let first = wrong.first {
        failures.append("\(wrong.count) wrong values, first for job \(report.order[first])")
    }
    if report.maxInFlight > inFlight {
        failures.append("\(report.maxInFlight) jobs in flight, above the limit \(inFlight)")
    }
    if report.offLoop > 0 { failures.append("\(report.offLoop) jobs resumed off the loop") }
    if queuedAtEnd > 0 { failures.append("\(queuedAtEnd) jobs still queued in the pool at the end") }
    guard failures.isEmpty else {
        print("self-test FAILED: " + failures.joined(separator: "; "))
        exit(1)
    }
    print("self-test passed: \(jobCount) results complete, in submission order, every value checked")
}

// loop-server: a TCP server embedded in a process. One acceptor hands connections round robin
// to the loops of a LoopGroup, which serve them on non-blocking sockets; each request line n
// is answered with the n-th prime, computed on a ThreadPool.
import EventLoop
import Glibc
import LoopThreadPool

let arguments = CommandLine.arguments.dropFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(
        """
        usage: loop-server [--port N] [--loops N] [--workers N] [--self-test]
          --port N      the port on 127.0.0.1 (default 7070; 0 picks a free port and prints it)
          --loops N     how many event loops serve connections (default \(LoopGroup.defaultLoopCount), one per
                        CPU; at least 2 with --self-test)
          --workers N   how many plain worker threads compute answers (default 4)
          --self-test   start the server on a free port, run 100 concurrent clients x 100
                        requests plus malformed lines, abrupt disconnects, slow clients and a
                        graceful stop; exit 0 only if every check passes

        Protocol: send a line with a number n in 1...\(Request.maxN); the server answers a line
        with the n-th prime, or a line starting with "error: " (the connection stays open).
        SIGINT or SIGTERM stops it gracefully: it stops accepting, answers the requests in
        flight, closes every connection, ends its loops and workers and exits 0.
        """)
    exit(0)
}

/// The value of `--name N` in `range`, `fallback` when absent; exits with a message when
/// malformed.
func option(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
    guard let index = arguments.firstIndex(of: name) else { return fallback }
    let next = arguments.index(after: index)
    guard next < arguments.endIndex, let value = Int(arguments[next]), range.contains(value) else {
        var message = "loop-server: \(name) needs an integer in \(range) (see --help)\n"
        message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    return value
}

let selfTest = arguments.contains("--self-test")
var configuration = Server.Configuration()
configuration.port = selfTest ? 0 : UInt16(option("--port", default: 7070, in: 0...65535))
// The self-test wants connections on a loop other than the acceptor's, even on one CPU.
let loopCount = option("--loops", default: max(LoopGroup.defaultLoopCount, selfTest ? 2 : 1), in: 1...256)
let workerCount = option("--workers", default: 4, in: 1...256)
if selfTest {
    configuration.sendBuffer = 4_096  // small kernel buffers: the slow reader forces partial writes
    alarm(60)  // a watchdog: a hung self-test dies with SIGALRM instead of hanging CI
}

let group: LoopGroup
let pool: ThreadPool
let server: Server
do {
    group = try LoopGroup(loops: loopCount, name: "server")
    pool = try ThreadPool(threads: workerCount, name: "primes")
    server = try Server(configuration, group: group, pool: pool)
} catch {
    print("loop-server: \(error)")
    exit(1)
}
let serving = Task { await server.serve() }
print("listening on 127.0.0.1:\(server.port) with \(loopCount) loops and \(workerCount) worker threads")
fflush(nil)

let started = ContinuousClock.now
var failures: [String] = []
if selfTest {
    failures = await SelfTest(server: server).run(serving: serving)
} else {
    let signals = ShutdownSignals.install()
    let dispatcher = group.dispatchers[0]
    Task(executorPreference: dispatcher) {
        guard let signal = try? await ShutdownSignals.next(from: signals, on: dispatcher) else { return }
        print("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): stopping")
        fflush(nil)
        server.stop()
    }
    await serving.value
}
// Every connection is closed: no job is queued, and no task waits on a loop but the signal's.
pool.shutdown()
let counters = group.dispatchers.map(\.counters)
group.shutdown()

let statistics = server.statistics
print(
    "served \(statistics.accepted.load(ordering: .relaxed)) connections:"
        + " \(statistics.answered.load(ordering: .relaxed)) answers,"
        + " \(statistics.errorLines.load(ordering: .relaxed)) error lines,"
        + " \(statistics.discarded.load(ordering: .relaxed)) results discarded,"
        + " \(statistics.skipped.load(ordering: .relaxed)) requests never computed,"
        + " \(statistics.resets.load(ordering: .relaxed)) resets,"
        + " \(statistics.writeWaits.load(ordering: .relaxed)) writes waited for writability")
print(
    "loops: \(server.loops.map { String($0.served.load(ordering: .relaxed)) }.joined(separator: " + ")) connections,"
        + " \(counters.map(\.jobsRun).reduce(0, +)) jobs run,"
        + " \(counters.map(\.epollWaits).reduce(0, +)) epoll waits,"
        + " \(counters.map(\.eventfdWrites).reduce(0, +)) eventfd writes")
if selfTest {
    guard failures.isEmpty else {
        print("self-test FAILED (\(failures.count) checks):")
        for failure in failures.prefix(20) { print("  \(failure)") }
        exit(1)
    }
    print("self-test passed in \(milliseconds(since: started)) ms")
}
exit(0)

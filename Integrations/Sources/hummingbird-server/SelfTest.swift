import Glibc
import LoopChannels
import Synchronization

/// The child the watchdog kills before it ends the parent, so that a hung self-test leaves
/// no server behind. Written once by the parent's main task before the alarm is armed, read
/// only by the SIGALRM handler.
nonisolated(unsafe) private var watchedChild: pid_t = 0

/// `--self-test`: starts this executable as a child process serving on a free port, checks it
/// over HTTP/1.1 from plain blocking sockets — sequential, concurrent, malformed and deadline
/// requests, every answer against values computed here — then stops it with SIGTERM across
/// a request in flight and checks that it exited 0, that the port refuses connections and
/// that no trace of the child is left.
final class SelfTest: Sendable {
    let primes = sieve(upTo: 110_000)  // the 10,000th prime is 104,729
    private let failures = Mutex<[String]>([])
    /// The checks made. Relaxed: summed for the summary after every client thread has ended.
    private let checks = Atomic<Int>(0)
    /// The requests the child must have run a pool job for. Relaxed, as above.
    private let expectedPoolJobs = Atomic<Int>(0)
    private let started = ContinuousClock.now

    /// Runs every check.
    /// - Returns: the process's exit status: 0 only if every check passed.
    func run() async -> Int32 {
        armWatchdog()
        let child: ChildProcess
        do {
            child = try ChildProcess(arguments: ["--port", "0", "--threads", "4", "--log-level", "warning"])
        } catch {
            print("self-test FAILED: \(error)")
            return 1
        }
        watchedChild = child.pid
        guard let port = listeningPort(child) else {
            print("self-test FAILED: the child printed no \"listening on 127.0.0.1:PORT\" line")
            kill(child.pid, SIGKILL)
            _ = child.wait()
            return 1
        }
        print("child \(child.pid) listening on 127.0.0.1:\(port)")

        knownAnswers()
        sequential(port)
        step("sequential requests on one keep-alive connection")
        await concurrent(port)
        step("\(clientCount) concurrent clients x \(requestsPerClient) requests")
        malformed(port)
        step("malformed requests: bad numbers, missing parameters, unknown route, body too large, garbage request line")
        deadlines(port)
        step("deadline route: in time (200) and timing out (504)")
        gracefulStop(child, port)
        step("SIGTERM with a request in flight: answered, exit status 0, port closed, child reaped")
        if watchedChild != 0 {
            // The stop phase gave up before it reaped the child: leave no server behind.
            kill(child.pid, SIGKILL)
            _ = child.wait()
        }

        let failed = failures.withLock { $0 }
        let summary = "\(checks.load(ordering: .relaxed)) checks in \(milliseconds(since: started)) ms"
        guard failed.isEmpty else {
            print("self-test FAILED (\(failed.count) of \(summary)):")
            for failure in failed.prefix(20) { print("  \(failure)") }
            return 1
        }
        print("self-test passed: \(summary)")
        return 0
    }

    // MARK: The phases

    /// The checksum of this file against published FNV-1a 64 vectors, before it is trusted to
    /// check the server's.
    private func knownAnswers() {
        for (text, expected) in [("", "cbf29ce484222325"), ("a", "af63dc4c8601ec8c"), ("foobar", "85944171f73967e8")] {
            check(checksum(Array(text.utf8)) == expected, "the self-test's own FNV-1a of \(text.debugDescription)")
        }
    }

    private func sequential(_ port: UInt16) {
        guard let connection = connect(port, "sequential client") else { return }
        for n in [1, 2, 10, 100, 1_000, 10_000] {
            expect(connection.request("GET", "/prime/\(n)"), 200, "\(primes[n - 1])\n", "GET /prime/\(n)")
            expectedPoolJobs.add(1, ordering: .relaxed)
        }
        for body in [[], Array("a".utf8), pseudoRandomBytes(count: 100_000, seed: 7)] {
            expect(
                connection.request("POST", "/hash", body: body), 200, checksum(body) + "\n",
                "POST /hash of \(body.count) bytes")
            expectedPoolJobs.add(1, ordering: .relaxed)
        }
        expect(connection.request("GET", "/sleep?ms=20"), 200, "slept 20 ms\n", "GET /sleep?ms=20")
        expectedPoolJobs.add(1, ordering: .relaxed)
    }

    let clientCount = 8
    let requestsPerClient = 25

    /// Each client on its own keep-alive connection and its own thread: a ThreadPool of this
    /// process, so that blocking sockets never occupy Swift's cooperative pool.
    private func concurrent(_ port: UInt16) async {
        let clients: ThreadPool
        do {
            clients = try ThreadPool(threads: clientCount, name: "client")
        } catch {
            check(false, "client threads: \(error)")
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<clientCount {
                group.addTask { [self] in
                    do {
                        try await clients.run { self.client(index, port) }
                    } catch {
                        check(false, "client \(index) did not run: \(error)")
                    }
                }
            }
        }
        await clients.shutdownGracefully()
    }

    private func client(_ index: Int, _ port: UInt16) {
        guard let connection = connect(port, "client \(index)") else { return }
        for request in 0..<requestsPerClient {
            let key = index &* 7_919 &+ request &* 104_729
            let reply: HTTPReply?
            let expected: String
            let what: String
            switch request % 5 {
            case 0, 1:
                let n = 1 + key % 3_000
                (what, expected) = ("GET /prime/\(n)", "\(primes[n - 1])\n")
                reply = connection.request("GET", "/prime/\(n)")
            case 2:
                let body = pseudoRandomBytes(count: key % 8_192, seed: UInt64(key))
                (what, expected) = ("POST /hash of \(body.count) bytes", checksum(body) + "\n")
                reply = connection.request("POST", "/hash", body: body)
            case 3:
                let milliseconds = 1 + key % 5
                (what, expected) = ("GET /sleep?ms=\(milliseconds)", "slept \(milliseconds) ms\n")
                reply = connection.request("GET", "/sleep?ms=\(milliseconds)")
            default:
                (what, expected) = ("GET /wait?ms=1&timeout=5000", "done: the call took 1 ms, within 5000 ms\n")
                reply = connection.request("GET", "/wait?ms=1&timeout=5000")
            }
            expectedPoolJobs.add(1, ordering: .relaxed)
            guard expect(reply, 200, expected, "client \(index): \(what)") else { return }
        }
    }

    private func malformed(_ port: UInt16) {
        guard let connection = connect(port, "malformed client") else { return }
        let range = "1...\(maxPrimeIndex)"
        let ms = "0...\(maxMilliseconds)"
        let cases: [(String, Int, String)] = [
            ("/prime/abc", 400, "n must be an integer in \(range), got \"abc\""),
            ("/prime/0", 400, "n must be in \(range), got 0"),
            ("/prime/-5", 400, "n must be in \(range), got -5"),
            ("/prime/\(maxPrimeIndex + 1)", 400, "n must be in \(range), got \(maxPrimeIndex + 1)"),
            ("/prime/99999999999999999999", 400, "n must be an integer in \(range), got \"99999999999999999999\""),
            ("/sleep", 400, "missing query parameter ms: an integer in \(ms)"),
            ("/sleep?ms=ten", 400, "ms must be an integer in \(ms), got \"ten\""),
            ("/sleep?ms=-1", 400, "ms must be in \(ms), got -1"),
            ("/wait?ms=10", 400, "missing query parameter timeout: an integer in \(ms)"),
            ("/wait?ms=10&timeout=99999", 400, "timeout must be in \(ms), got 99999"),
        ]
        for (target, status, message) in cases {
            expect(connection.request("GET", target), status, message + "\n", "GET \(target)")
        }
        let unknown = connection.request("GET", "/no/such/route")
        check(unknown?.status == 404, "GET /no/such/route: \(describe(unknown))")
        // The connection still serves after its bad requests.
        expect(connection.request("GET", "/prime/5"), 200, "11\n", "GET /prime/5 after the bad requests")
        expectedPoolJobs.add(1, ordering: .relaxed)

        // A body over the limit: 413 before the handler hashes anything.
        if let large = connect(port, "large body client") {
            let reply = large.request("POST", "/hash", body: [UInt8](repeating: 0x61, count: maxHashBody + 1))
            check(reply?.status == 413, "POST /hash of \(maxHashBody + 1) bytes: \(describe(reply))")
        }

        // Not HTTP at all: the server answers 400 and closes the connection.
        guard let garbage = connect(port, "garbage client") else { return }
        garbage.send(Array("HELLO THERE\r\n\r\n".utf8))
        let reply = garbage.readResponse()
        check(reply?.status == 400, "a garbage request line: \(describe(reply))")
        check(garbage.readsEndOfStream(), "a garbage request line left its connection open")
    }

    private func deadlines(_ port: UInt16) {
        guard let connection = connect(port, "deadline client") else { return }
        expect(
            connection.request("GET", "/wait?ms=20&timeout=5000"), 200,
            "done: the call took 20 ms, within 5000 ms\n", "GET /wait in time")
        let before = ContinuousClock.now
        // A call of 10 s against a deadline of 100 ms: 504 well before the call would end.
        expect(
            connection.request("GET", "/wait?ms=10000&timeout=100"), 504,
            "timed out: the call takes 10000 ms, the deadline was 100 ms\n", "GET /wait timing out")
        let elapsed = milliseconds(since: before)
        check(elapsed >= 100 && elapsed < 5_000, "GET /wait timing out answered after \(elapsed) ms")
        expectedPoolJobs.add(2, ordering: .relaxed)
    }

    /// SIGTERM while a `POST /hash` is inside its handler, its body half sent: the server must
    /// stop accepting, close an idle connection, still answer that request — its job runs on
    /// the pool, which stops only after the application — and exit 0. The job of the `/wait`
    /// that timed out was abandoned: had it kept its worker, the stop would take 10 s.
    private func gracefulStop(_ child: ChildProcess, _ port: UInt16) {
        guard let busy = connect(port, "busy client"), let idle = connect(port, "idle client") else { return }
        let body = pseudoRandomBytes(count: 64, seed: 99)
        busy.send(busy.head("POST", "/hash", contentLength: body.count) + body.prefix(32))
        // Wait until the server reports that request in flight (and this one, /stats itself).
        let deadline = ContinuousClock.now + .seconds(10)
        var inFlight: HTTPReply? = nil
        repeat {
            pollPause()
            inFlight = idle.request("GET", "/stats")
        } while inFlight?.body.hasPrefix("requests in flight: 2,") != true && ContinuousClock.now < deadline
        guard
            check(
                inFlight?.body.hasPrefix("requests in flight: 2,") == true,
                "the half-sent request never reached a handler")
        else {
            kill(child.pid, SIGKILL)
            _ = child.wait()
            return
        }

        let stopping = ContinuousClock.now
        kill(child.pid, SIGTERM)
        // Stopping begins with the listener: once it refuses connections, the application is
        // shutting down and the rest of the body arrives during the stop.
        while !HTTPConnection.isRefused(port: port) && ContinuousClock.now < deadline { pollPause() }
        check(HTTPConnection.isRefused(port: port), "the port still accepts connections after SIGTERM")
        busy.send(Array(body.suffix(32)))
        expect(busy.readResponse(), 200, checksum(body) + "\n", "POST /hash in flight during the stop")
        expectedPoolJobs.add(1, ordering: .relaxed)
        check(busy.readsEndOfStream(), "the busy connection stayed open after the stop")
        check(idle.readsEndOfStream(), "the idle connection stayed open after the stop")

        var lines: [String] = []
        while let line = child.readLine() { lines.append(line) }
        let status = child.wait()
        let stopMilliseconds = milliseconds(since: stopping)
        watchedChild = 0
        let expectedLine = "stopped: pool jobs run: \(expectedPoolJobs.load(ordering: .relaxed)), waits timed out: 1"
        check(lines == [expectedLine], "the child printed \(lines) after SIGTERM, expected [\(expectedLine)]")
        if let status {
            let exited = status & 0x7f == 0
            check(exited && (status >> 8) & 0xff == 0, "the child ended with wait status \(status), not exit 0")
        } else {
            check(false, "waitpid failed: errno \(errno)")
        }
        check(stopMilliseconds < 5_000, "the stop took \(stopMilliseconds) ms")
        check(HTTPConnection.isRefused(port: port), "the port accepts connections after the child exited")
        check(access("/proc/\(child.pid)", F_OK) != 0, "/proc/\(child.pid) still exists")
        check(kill(child.pid, 0) != 0 && errno == ESRCH, "pid \(child.pid) still exists")
        print("child stopped in \(stopMilliseconds) ms: \(lines.first ?? "")")
    }

    // MARK: Helpers

    /// Reads the child's stdout until its "listening on" line.
    private func listeningPort(_ child: ChildProcess) -> UInt16? {
        let prefix = "listening on 127.0.0.1:"
        while let line = child.readLine() {
            if line.hasPrefix(prefix) { return UInt16(line.dropFirst(prefix.count)) }
        }
        return nil
    }

    private func connect(_ port: UInt16, _ who: String) -> HTTPConnection? {
        do {
            return try HTTPConnection(port: port)
        } catch {
            check(false, "\(who): \(error)")
            return nil
        }
    }

    /// Checks that `reply` has `status` and `body`.
    @discardableResult
    private func expect(_ reply: HTTPReply?, _ status: Int, _ body: String, _ what: String) -> Bool {
        let expected = HTTPReply(status: status, body: body)
        return check(reply == expected, "\(what): got \(describe(reply)), expected \(expected)")
    }

    private func describe(_ reply: HTTPReply?) -> String {
        reply.map(String.init(describing:)) ?? "no response"
    }

    @discardableResult
    private func check(_ condition: Bool, _ failure: @autoclosure () -> String) -> Bool {
        checks.add(1, ordering: .relaxed)
        if !condition { failures.withLock { $0.append(failure()) } }
        return condition
    }

    private func step(_ what: String) {
        let failed = failures.withLock { $0.count }
        print("  \(failed == 0 ? "ok" : "FAILED")  \(what)  (\(milliseconds(since: started)) ms since start)")
    }

    /// A 60 s alarm whose handler kills the child, if one runs, and ends this process with 1.
    private func armWatchdog() {
        signal(SIGALRM) { _ in
            if watchedChild > 0 { kill(watchedChild, SIGKILL) }
            let message: StaticString = "self-test FAILED: the 60 s watchdog fired\n"
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            _exit(1)
        }
        alarm(60)
    }
}

/// Blocks the calling thread for a millisecond, between two polls of something the server
/// does not announce.
func pollPause() {
    var request = timespec(tv_sec: 0, tv_nsec: 1_000_000)
    _ = nanosleep(&request, nil)
}

/// FNV-1a 64 written apart from the server's `fnv1a64Hex`: the self-test's own reference.
func checksum(_ bytes: [UInt8]) -> String {
    let hash = bytes.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    let hex = Array("0123456789abcdef")
    return String((0..<16).map { hex[Int((hash >> UInt64(60 - 4 * $0)) & 0xf)] })
}

/// `count` bytes from a xorshift generator seeded with `seed`: bodies to hash.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

/// The primes up to `limit`, by the sieve of Eratosthenes: the reference for the server's
/// trial division.
func sieve(upTo limit: Int) -> [Int] {
    var composite = [Bool](repeating: false, count: limit + 1)
    var primes: [Int] = []
    for n in 2...limit where !composite[n] {
        primes.append(n)
        var multiple = n * n
        while multiple <= limit {
            composite[multiple] = true
            multiple += n
        }
    }
    return primes
}

/// Whole milliseconds from `start` until now.
func milliseconds(since start: ContinuousClock.Instant) -> Int {
    let (seconds, attoseconds) = (ContinuousClock.now - start).components
    return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
}

import Glibc
import LoopUtilities
import Synchronization

/// The self-test's checks against a running server, made by plain threads with blocking
/// sockets. Every answer is compared with a sieve computed here, independently of the
/// server's trial division.
final class SelfTest: Sendable {
    let server: Server
    let clientCount = 100
    let requestsPerClient = 100
    /// Requests ask for primes 1...smallN: the self-test checks plumbing, not CPU speed.
    let smallN = 1_000
    /// The request in flight when the graceful stop begins.
    let stopN = 20_000
    let primes: [Int]
    private let failures = Mutex<[String]>([])

    init(server: Server) {
        self.server = server
        primes = sieve(upTo: 230_000)  // the 20,000th prime is 224,737
    }

    /// Runs every check, stops the server gracefully at the end, and returns the failures.
    func run(serving: Task<Void, Never>) async -> [String] {
        let started = ContinuousClock.now
        concurrentClients()
        step("\(clientCount) clients x \(requestsPerClient) requests, malformed lines, resets, slow clients", started)
        waitForNoOpenConnections("after the concurrent phase")
        let expected = clientCount + abruptCount + 2
        let accepted = server.statistics.accepted.load(ordering: .relaxed)
        check(accepted == expected, "the server accepted \(accepted) connections, expected \(expected)")
        check(server.statistics.writeWaits.load(ordering: .relaxed) > 0, "no write ever waited for writability")
        checkRoundRobin()
        checkEveryRequestAccountedFor()
        newClientStillServed()
        waitForNoOpenConnections("after the new client")
        await gracefulStop(serving: serving)
        step("graceful stop with a request in flight", started)
        return failures.withLock { $0 }
    }

    // MARK: The concurrent phase

    private let abruptCount = 24
    private static let malformed = [
        "abc", "", "0", "100001", "12 34", "-7", "0x10", "99999999999999999999999", "\u{1}\u{7F}", "  ",
    ]

    private func concurrentClients() {
        var threads = (0..<clientCount).map { index in PlainThread { [self] in client(index) } }
        threads += (0..<abruptCount).map { index in PlainThread { [self] in abruptClient(index) } }
        threads.append(PlainThread { [self] in slowWriter() })
        threads.append(PlainThread { [self] in slowReader() })
        for thread in threads { thread.joinBlocking() }
    }

    /// 100 requests on one connection, answered in order; request 50 is malformed and
    /// the connection must still work after its error line.
    private func client(_ index: Int) {
        guard let client = connect("client \(index)") else { return }
        for request in 0..<requestsPerClient {
            if request == requestsPerClient / 2 {
                let line =
                    index == 0 ? String(repeating: "x", count: 5_000) : Self.malformed[index % Self.malformed.count]
                client.send(line + "\n")
                let reply = client.readLine()
                guard
                    check(
                        reply?.hasPrefix("error: ") == true,
                        "client \(index): \(line.debugDescription) got \(reply.debugDescription)")
                else { return }
                continue
            }
            let n = 1 + (index &* 7_919 &+ request &* 104_729) % smallN
            client.send("\(n)\n")
            let reply = client.readLine()
            guard check(reply == String(primes[n - 1]), "client \(index): \(n) got \(reply.debugDescription)") else {
                return
            }
        }
    }

    /// Disconnects abruptly: with a request being computed, in the middle of a line, or
    /// without reading the answers to two requests.
    private func abruptClient(_ index: Int) {
        guard let client = connect("abrupt client \(index)") else { return }
        switch index % 3 {
        case 0:
            client.send("\(30_000 + index)\n")  // long enough to be in a worker's hands
            client.abort()
        case 1:
            client.send("19")
            client.abort()
        default:
            client.send("1500\n1600\n")
            shutdown(client.fd, Int32(SHUT_WR))  // half-close; never read the answers
        }
    }

    /// Writes each request one byte at a time: the server must reassemble lines.
    private func slowWriter() {
        guard let client = connect("slow writer") else { return }
        for n in [1, 10, 100, 1_000, 1_999] {
            client.sendSlowly("\(n)\n")
            let reply = client.readLine()
            guard check(reply == String(primes[n - 1]), "slow writer: \(n) got \(reply.debugDescription)") else {
                return
            }
        }
    }

    /// Sends 1,000 malformed lines and 5,000 requests at once and reads nothing for a while
    /// through a tiny receive buffer: the server's writes hit EAGAIN and must wait for
    /// writability.
    private func slowReader() {
        guard let client = connect("slow reader", receiveBuffer: 2_048) else { return }
        // The error lines come first: they need no worker, so their 39 KB fill the socket
        // buffers at once, however slowly a loaded machine computes primes.
        let malformed = 1_000
        let ns = (0..<5_000).map { 1 + ($0 &* 37) % smallN }
        client.send(String(repeating: "0\n", count: malformed) + ns.map { "\($0)\n" }.joined())
        // Read nothing until the server has had to wait for writability (at most 10 s).
        let deadline = ContinuousClock.now + .seconds(10)
        while server.statistics.writeWaits.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline {
            sleep(for: .milliseconds(5))
        }
        for _ in 0..<malformed {
            let reply = client.readLine()
            guard check(reply?.hasPrefix("error: ") == true, "slow reader: 0 got \(reply.debugDescription)") else {
                return
            }
        }
        for n in ns {
            let reply = client.readLine()
            guard check(reply == String(primes[n - 1]), "slow reader: \(n) got \(reply.debugDescription)") else {
                return
            }
        }
    }

    // MARK: After the concurrent phase

    /// The acceptor hands connections to the loops in turn: their counts differ by at most 1.
    private func checkRoundRobin() {
        let served = server.loops.map { $0.served.load(ordering: .relaxed) }
        check(served.max()! - served.min()! <= 1, "connections per loop \(served): not handed out round robin")
    }

    /// Every prime request was answered, or computed and its result discarded, or never
    /// computed at all; a worker computed exactly the answered and discarded ones, so a job
    /// cancelled before it started never ran. Called once no connection is open, so every
    /// count is final (see `Server.Statistics.open`).
    private func checkEveryRequestAccountedFor() {
        let statistics = server.statistics
        let requests = statistics.requests.load(ordering: .relaxed)
        let computed = statistics.computed.load(ordering: .relaxed)
        let answered = statistics.answered.load(ordering: .relaxed)
        let discarded = statistics.discarded.load(ordering: .relaxed)
        let skipped = statistics.skipped.load(ordering: .relaxed)
        check(
            requests == answered + discarded + skipped,
            "\(requests) requests != \(answered) answered + \(discarded) discarded + \(skipped) never computed")
        check(
            computed == answered + discarded,
            "\(computed) computed != \(answered) answered + \(discarded) discarded: a cancelled job ran")
        check(discarded + skipped > 0, "the reset connections left no result discarded and no request uncomputed")
    }

    private func newClientStillServed() {
        guard let client = connect("new client") else { return }
        for n in [1, 2, 1_000] {
            client.send("\(n)\n")
            let reply = client.readLine()
            check(reply == String(primes[n - 1]), "new client: \(n) got \(reply.debugDescription)")
        }
    }

    /// Stops the server while one request is being computed and another client is idle:
    /// the request must still be answered, both clients must see the connection close, and
    /// `serve()` must return.
    private func gracefulStop(serving: Task<Void, Never>) async {
        guard let idle = connect("idle client"), let busy = connect("busy client") else { return }
        // Both lines arrive in one read; once "1" is answered, stopN is in the server's hands.
        busy.send("1\n\(stopN)\n")
        check(busy.readLine() == "2", "busy client: 1 not answered before the stop")
        server.stop()
        let reply = busy.readLine()
        check(reply == String(primes[stopN - 1]), "in-flight request during stop got \(reply.debugDescription)")
        check(busy.readLine() == nil, "busy client: connection still open after the stop")
        check(idle.readLine() == nil, "idle client: connection still open after the stop")
        await serving.value
        let open = server.statistics.open.load(ordering: .relaxed)
        check(open == 0, "\(open) connections open after serve() returned")
        checkEveryRequestAccountedFor()
        check(Socket.probe(port: server.port) == false, "the listener still accepts after the stop")
    }

    // MARK: Helpers

    private func connect(_ who: String, receiveBuffer: Int32? = nil) -> TestClient? {
        do {
            return try TestClient(port: server.port, receiveBuffer: receiveBuffer)
        } catch {
            check(false, "\(who): \(error)")
            return nil
        }
    }

    private func waitForNoOpenConnections(_ when: String) {
        let deadline = ContinuousClock.now + .seconds(10)
        // Acquiring: see `Server.Statistics.open`; the checks that follow read the counts.
        while server.statistics.open.load(ordering: .acquiring) != 0 && ContinuousClock.now < deadline {
            sleep(for: .milliseconds(5))
        }
        let open = server.statistics.open.load(ordering: .acquiring)
        check(open == 0, "\(open) connections still open \(when)")
    }

    @discardableResult
    private func check(_ condition: Bool, _ failure: @autoclosure () -> String) -> Bool {
        if !condition { failures.withLock { $0.append(failure()) } }
        return condition
    }

    private func step(_ what: String, _ started: ContinuousClock.Instant) {
        let failed = failures.withLock { $0.count }
        print("  \(failed == 0 ? "ok" : "FAILED")  \(what)  (\(milliseconds(since: started)) ms since start)")
    }
}

/// The primes up to `limit`, by the sieve of Eratosthenes.
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

import Hummingbird
import LoopChannels
import Synchronization

/// What the server counts, for `GET /stats` and the line it prints when it stops. Callable
/// from any thread.
final class Stats: Sendable {
    /// Requests inside the router: begun and not yet answered. Relaxed: a gauge, read by
    /// nothing that orders other memory on it.
    let inFlight = Atomic<Int>(0)
    /// Jobs that ran on the pool, whether their caller still waited or not. Relaxed, as above.
    let poolJobs = Atomic<Int>(0)
    /// `GET /wait` requests answered 504. Relaxed, as above.
    let timeouts = Atomic<Int>(0)

    var summary: String {
        "pool jobs run: \(poolJobs.load(ordering: .relaxed)), waits timed out: \(timeouts.load(ordering: .relaxed))"
    }
}

/// Counts the requests being handled, so that `GET /stats` can tell a client (the self-test)
/// that its request is in the server's hands.
struct InFlightMiddleware<Context: RequestContext>: RouterMiddleware {
    let stats: Stats

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        stats.inFlight.add(1, ordering: .relaxed)
        defer { stats.inFlight.subtract(1, ordering: .relaxed) }
        return try await next(request, context)
    }
}

/// The largest body `POST /hash` reads; a larger one is answered 413.
let maxHashBody = 1 << 20
/// The longest blocking call `GET /sleep` and `GET /wait` simulate, and the longest deadline.
let maxMilliseconds = 10_000

/// The routes. Every blocking or CPU-heavy step runs on `pool`; the handlers only parse,
/// await and answer, so Hummingbird's event loops never block.
func makeRouter(pool: ThreadPool, stats: Stats) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: InFlightMiddleware(stats: stats))

    router.get("/") { _, _ in
        textResponse(
            .ok,
            """
            GET  /prime/:n              the n-th prime, n in 1...\(maxPrimeIndex) (trial division on the pool)
            POST /hash                  the FNV-1a 64-bit checksum of the body, at most \(maxHashBody) bytes
            GET  /sleep?ms=M            a blocking call of M ms on the pool, M in 0...\(maxMilliseconds)
            GET  /wait?ms=M&timeout=T   a blocking call of M ms raced against a deadline of T ms: 504 if it loses
            GET  /stats                 requests in flight, pool jobs run, waits timed out
            """)
    }

    router.get("/prime/:n") { _, context in
        let n = try integer(context.parameters.get("n") ?? "", named: "n", in: 1...maxPrimeIndex)
        let prime = try await onPool(pool, stats) { nthPrime(n) }
        return textResponse(.ok, String(prime))
    }

    router.post("/hash") { request, _ in
        // Reading the body awaits the connection; only the checksum is work for the pool.
        let body = try await request.body.collect(upTo: maxHashBody)
        let checksum = try await onPool(pool, stats) { fnv1a64Hex(body.readableBytesView) }
        return textResponse(.ok, checksum)
    }

    router.get("/sleep") { request, _ in
        let milliseconds = try integerQuery(request, "ms", in: 0...maxMilliseconds)
        try await onPool(pool, stats) { blockingCall(milliseconds: milliseconds) }
        return textResponse(.ok, "slept \(milliseconds) ms")
    }

    router.get("/wait") { request, _ in
        let milliseconds = try integerQuery(request, "ms", in: 0...maxMilliseconds)
        let timeout = try integerQuery(request, "timeout", in: 0...maxMilliseconds)
        return try await waitWithDeadline(milliseconds: milliseconds, timeout: timeout, pool: pool, stats: stats)
    }

    router.get("/stats") { _, _ in
        textResponse(.ok, "requests in flight: \(stats.inFlight.load(ordering: .relaxed)), \(stats.summary)")
    }
    return router
}

/// Runs `work` on the pool and counts it; a pool that has shut down is answered 503.
func onPool<Result: Sendable>(
    _ pool: ThreadPool, _ stats: Stats, _ work: @escaping @Sendable () -> Result
) async throws -> Result {
    do {
        return try await pool.run {
            stats.poolJobs.add(1, ordering: .relaxed)
            return work()
        }
    } catch let error as ThreadPoolError where error == .shutDown {
        throw RouteError.shuttingDown
    }
}

/// `GET /wait`: a blocking call of `milliseconds` on the pool, raced with `select` against a
/// deadline of `timeout`. The job answers through a oneshot hatch; whichever of the hatch and
/// the `SelectTimeout` is ready first decides the response, and only that case takes effect.
/// A job that loses is told to stop through a `ThreadSignal`, so that no worker stays
/// blocked on an answer nobody waits for.
func waitWithDeadline(milliseconds: Int, timeout: Int, pool: ThreadPool, stats: Stats) async throws -> Response {
    enum Outcome {
        case done(Int)
        case timedOut
        case dropped
    }
    let (reply, answer) = makeOneshot(of: Int.self)
    let abandon = try ThreadSignal()
    do {
        try pool.submit {
            stats.poolJobs.add(1, ordering: .relaxed)
            // The blocking call, cut short when the handler has given up on it.
            guard !abandon.waitSync(timeout: .milliseconds(milliseconds)) else { return }
            _ = try? reply.trySend(milliseconds)
        }
    } catch {
        throw RouteError.shuttingDown
    }
    let outcome = try await select(
        answer.onReceive { value in value.map(Outcome.done) ?? .dropped },
        SelectTimeout(.milliseconds(timeout)) { Outcome.timedOut }
    )
    switch outcome {
    case .done(let milliseconds):
        return textResponse(.ok, "done: the call took \(milliseconds) ms, within \(timeout) ms")
    case .timedOut:
        abandon.fire()
        stats.timeouts.add(1, ordering: .relaxed)
        return textResponse(
            .gatewayTimeout, "timed out: the call takes \(milliseconds) ms, the deadline was \(timeout) ms")
    case .dropped:
        // The pool dropped the job unrun (a shutdownNow): the hatch closed without a value.
        throw RouteError.shuttingDown
    }
}

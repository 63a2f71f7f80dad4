// hummingbird-server: a Hummingbird application whose blocking and CPU-heavy work runs on a
// LoopChannels ThreadPool, with a deadline route that races a pool job against a timeout
// with `select`. The application and the pool run in one ServiceGroup that stops them
// gracefully on SIGTERM or SIGINT.
import Glibc
import Hummingbird
import Logging
import LoopChannels
import ServiceLifecycle

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(
        """
        usage: hummingbird-server [--port N] [--threads N] [--log-level LEVEL] [--self-test]
          --port N            the port on 127.0.0.1 (default 8080; 0 lets the kernel pick one)
          --threads N         the pool's worker threads (default 4)
          --log-level LEVEL   trace, debug, info, notice, warning, error or critical (default info)
          --self-test         start this server as a child process, check it over HTTP/1.1
                              from plain sockets, stop it with SIGTERM; exit 0 only if every
                              check passes

        Prints "listening on 127.0.0.1:PORT" once it accepts connections; GET / lists the
        routes. SIGTERM or SIGINT stops it gracefully: it stops accepting, answers the
        requests in flight, then stops the pool, and exits 0.
        """)
    exit(0)
}

/// The value after `name`, nil when absent; exits with a message when nothing follows it.
func optionValue(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name) else { return nil }
    guard index + 1 < arguments.count else { usage("\(name) needs a value") }
    return arguments[index + 1]
}

/// The integer value of `--name N` in `range`, `fallback` when absent.
func integerOption(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
    guard let text = optionValue(name) else { return fallback }
    guard let value = Int(text), range.contains(value) else { usage("\(name) needs an integer in \(range)") }
    return value
}

func usage(_ message: String) -> Never {
    var line = "hummingbird-server: \(message) (see --help)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

if arguments.contains("--self-test") {
    exit(await SelfTest().run())
}

let port = integerOption("--port", default: 8080, in: 0...65535)
let threads = integerOption("--threads", default: 4, in: 1...256)
var logger = Logger(label: "hummingbird-server")
let levelName = optionValue("--log-level") ?? "info"
guard let level = Logger.Level(rawValue: levelName) else { usage("unknown log level \(levelName)") }
logger.logLevel = level

let pool = try ThreadPool(threads: threads, name: "hb-work")
let stats = Stats()
let app = Application(
    router: makeRouter(pool: pool, stats: stats),
    configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        // The self-test reads this line from the child's stdout to learn the port.
        print("listening on 127.0.0.1:\(channel.localAddress?.port ?? port)")
        fflush(nil)
    },
    logger: logger
)

// A ServiceGroup shuts its services down in reverse order: the application, listed last,
// stops first — it stops accepting and answers the requests in flight, whose jobs the pool
// still runs — and only then does the pool stop (queued jobs run first) and join its threads.
let services = ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: [pool, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
)
do {
    try await services.run()
} catch {
    print("hummingbird-server: \(error)")
    exit(1)
}
print("stopped: \(stats.summary)")
exit(0)

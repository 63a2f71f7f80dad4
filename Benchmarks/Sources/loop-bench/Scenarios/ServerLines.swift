import EventLoop

extension Scenario {
    /// The loop-server protocol served in-process on 127.0.0.1 by our `LoopGroup` and
    /// `ThreadPool` and by SwiftNIO, under the same load client (``LineLoadClient``).
    static func serverLines(_ environment: BenchEnvironment) -> Scenario {
        Scenario(
            name: "server-lines",
            summary:
                "one request line n (1…100) answered with the n-th prime over TCP on 127.0.0.1: 16 connections, request/reply from 16 plain threads with blocking sockets; ns/op is wall time per request",
            operations: 32_000,
            quickOperations: 3_200,
            reference: "NIO",
            implementations: [.loopGroupLineServer(), .nioLineServer()]
        )
    }
}

extension Implementation {
    /// Event loops and pool threads of both servers: one each per CPU (2 on the
    /// benchmark machine).
    static var serverThreads: Int { LoopGroup.defaultLoopCount }

    /// `LoopGroup+ThreadPool` (ours): ``LoopLineServer``.
    static func loopGroupLineServer() -> Implementation {
        Implementation(
            "LoopGroup+ThreadPool",
            note:
                "LoopGroup+ThreadPool: loops = pool threads = CPUs; one acceptor task, each connection served by one task on the next loop in turn (group.next())"
        ) { context in
            try drive(try LoopLineServer(loops: serverThreads, threads: serverThreads), context)
        }
    }

    /// `NIO`: ``NIOLineServer``, the same protocol on SwiftNIO.
    static func nioLineServer() -> Implementation {
        Implementation(
            "NIO",
            note:
                "NIO: MultiThreadedEventLoopGroup and NIOThreadPool of as many threads as ours; ServerBootstrap, a ByteToMessageDecoder splitting lines, runIfActive for the primes"
        ) { context in
            try drive(try NIOLineServer(loops: serverThreads, threads: serverThreads), context)
        }
    }

    /// One run against a started server: the load client's requests, then the server stopped
    /// (also when the client failed), then the latencies recorded.
    private static func drive(_ server: some LineServer, _ context: RunContext) throws {
        let latencies: [Int64]
        do {
            latencies = try LineLoadClient.run(context, port: server.port)
        } catch {
            try? server.stop()
            throw error
        }
        try server.stop()
        context.recordLatencies(latencies)
    }
}

/// What the scenario needs of either server.
protocol LineServer {
    /// The port it listens on, on 127.0.0.1.
    var port: UInt16 { get }
    /// Stops it: closes the listener and the connections, ends its threads.
    func stop() throws
}

extension LoopLineServer: LineServer {}
extension NIOLineServer: LineServer {}

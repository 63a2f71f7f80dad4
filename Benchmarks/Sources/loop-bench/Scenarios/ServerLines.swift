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
            let server = try LoopLineServer(loops: serverThreads, threads: serverThreads)
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

    /// `NIO`: ``NIOLineServer``, the same protocol on SwiftNIO.
    static func nioLineServer() -> Implementation {
        Implementation(
            "NIO",
            note:
                "NIO: MultiThreadedEventLoopGroup and NIOThreadPool of as many threads as ours; ServerBootstrap, a ByteToMessageDecoder splitting lines, runIfActive for the primes"
        ) { context in
            let server = try NIOLineServer(loops: serverThreads, threads: serverThreads)
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
}

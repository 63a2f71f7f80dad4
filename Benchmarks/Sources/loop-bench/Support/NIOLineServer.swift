import NIOCore
import NIOPosix

/// The `server-lines` server on SwiftNIO, the peer of ``LoopLineServer``: a
/// `ServerBootstrap` on a `MultiThreadedEventLoopGroup`, a ``LineDecoder`` in a
/// `ByteToMessageHandler`, and a ``PrimeLineHandler`` that computes on a `NIOThreadPool`.
final class NIOLineServer {
    let group: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool
    /// The port the listener is bound to on 127.0.0.1.
    let port: UInt16
    private let channel: any Channel

    /// Starts `loops` event loops and `threads` pool threads, listening on a free port.
    /// - Throws: NIO's error when the listener cannot be bound.
    init(loops: Int, threads: Int) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                        try channel.pipeline.syncOperations.addHandler(PrimeLineHandler(pool: pool))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            try? pool.syncShutdownGracefully()
            throw error
        }
        guard let port = channel.localAddress?.port else { throw BenchError("the NIO listener has no port") }
        self.group = group
        self.pool = pool
        self.port = UInt16(port)
    }

    /// Closes the listener, then shuts the loops (closing any connection left) and the pool
    /// down. Call it once, from a plain thread.
    /// - Throws: NIO's error when a shutdown fails.
    func stop() throws {
        try? channel.close().wait()
        try group.syncShutdownGracefully()
        try pool.syncShutdownGracefully()
    }
}

/// One line of the stream, without its newline.
enum Line {
    case text(ByteBuffer)
    /// A line longer than `LineProtocol.maxLineLength`: reported once, its bytes dropped.
    case tooLong
}

/// Splits a byte stream into ``Line``s (swift-nio-extras' `LineBasedFrameDecoder` does the
/// same, but is not a dependency here). A line too long is reported as ``Line/tooLong``
/// and skipped up to its newline; a last line without a newline is dropped at end of stream,
/// as ``LoopLineServer`` does.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = Line

    /// Skipping the rest of a line that was too long.
    private var discarding = false

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            if discarding {
                buffer.moveReaderIndex(forwardBy: length + 1)
                discarding = false
                return .continue
            }
            let line = buffer.readSlice(length: length)!  // the newline is among the readable bytes
            buffer.moveReaderIndex(forwardBy: 1)
            let output: Line = length > LineProtocol.maxLineLength ? .tooLong : .text(line)
            context.fireChannelRead(Self.wrapInboundOut(output))
            return .continue
        }
        if buffer.readableBytes > LineProtocol.maxLineLength {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            if !discarding {
                discarding = true
                context.fireChannelRead(Self.wrapInboundOut(Line.tooLong))
            }
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Answers each ``Line``: an error line at once for a malformed one; for a number `n`, the
/// `n`-th prime computed on the `NIOThreadPool` (`runIfActive`). Jobs of one connection may
/// finish out of order on the pool, so replies wait in request order and leave as soon as
/// every earlier one has: written together, with one flush.
final class PrimeLineHandler: ChannelInboundHandler {
    typealias InboundIn = Line
    typealias OutboundOut = ByteBuffer

    private enum Reply {
        case prime(Int)
        case line(StaticString)
    }

    private let pool: NIOThreadPool
    /// The replies not yet written, in request order; nil while being computed.
    private var replies = CircularBuffer<Reply?>(initialCapacity: 4)
    /// The request number of `replies.first`.
    private var firstRequest = 0

    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request: LineProtocol.Request
        switch Self.unwrapInboundIn(data) {
        case .tooLong: request = .malformed(LineProtocol.tooLong)
        case .text(let line): request = line.withUnsafeReadableBytes { LineProtocol.parse($0) }
        }
        switch request {
        case .malformed(let line):
            replies.append(.line(line))
            writeReady(context: context)
        case .prime(let n):
            let number = firstRequest + replies.count
            replies.append(nil)
            // The future completes on this channel's loop, so its callback may touch the handler.
            pool.runIfActive(eventLoop: context.eventLoop) { nthPrime(n) }.assumeIsolated().whenComplete { result in
                let reply: Reply
                switch result {
                case .success(let prime): reply = .prime(prime)
                case .failure: reply = .line("error: the server is shutting down\n")
                }
                self.replies[self.replies.index(self.replies.startIndex, offsetBy: number - self.firstRequest)] = reply
                self.writeReady(context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes the replies at the head that are ready, then flushes once.
    private func writeReady(context: ChannelHandlerContext) {
        var wrote = false
        while let first = replies.first, let reply = first {
            replies.removeFirst()
            firstRequest += 1
            var buffer = context.channel.allocator.buffer(capacity: 24)
            switch reply {
            case .prime(let prime):
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) {
                    LineProtocol.formatReply(prime, into: $0)
                }
            case .line(let line):
                line.withUTF8Buffer { _ = buffer.writeBytes($0) }
            }
            context.write(Self.wrapOutboundOut(buffer), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }
}

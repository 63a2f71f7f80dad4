import AsyncChannels
import EventLoop
import Glibc
import LoopThreadPool
import LoopUtilities

/// Hashes files with SHA-256 on plain threads and prints `sha256sum`-compatible lines from a
/// task on an event loop.
///
/// ```
/// reader thread ──chunks──▶ hasher pool ──results──▶ loop task ──▶ stdout / stderr
///       ▲                        │
///       └──────── ChunkPool ◀────┘   (buffers recycled)
/// ```
///
/// One reader thread reads the files one after the other into buffers from a fixed
/// ``ChunkPool``. For each file it submits one job to a `ThreadPool` of hasher threads and
/// sends the file's chunks to that job through the file's own ``AsyncChannel``, so a file's
/// chunks are hashed in order, by one thread, while different files hash in parallel on
/// whichever hasher is free. Hashers give every buffer back to the chunk pool and post one
/// ``FileResult`` per file to an `AsyncChannel`; a task on a ``LoopThread`` receives the
/// results in whatever order they finish and writes them in command-line order.
struct Pipeline: Sendable {
    /// How many hasher threads the pool runs.
    var hasherCount = 2
    /// How many buffers the pool owns; with `chunkSize` this bounds the pipeline's memory.
    var bufferCount = 8
    /// The size of one read and one pooled buffer.
    var chunkSize = 1 << 20
    /// The program name that starts every error line, as `sha256sum:` does.
    var programName = "pipeline"

    /// What a run did.
    struct Report: Sendable {
        /// How many paths hashed successfully.
        var hashed = 0
        /// How many paths gave an error line.
        var failed = 0
        /// How many pooled buffers were back in the pool when the run ended (all of them,
        /// unless a buffer leaked).
        var buffersReturned = 0
        /// How many buffers the pool owned.
        var buffersOwned = 0
    }

    /// Hashes `paths` and writes one line per path, in order: `<hex>  <path>` to `output`, or
    /// `<program>: <path>: <reason>` to `errors`.
    /// - Parameters:
    ///   - paths: the files to hash; `-` is standard input. A directory, a missing or
    ///     unreadable file gives an error line, as with `sha256sum`.
    ///   - output: the descriptor for digest lines.
    ///   - errors: the descriptor for error lines.
    /// - Returns: what the run did.
    /// - Throws: ``LoopError`` when the event loop thread cannot start; `ThreadPoolError`
    ///   when the hasher threads cannot.
    func run(paths: [String], output: Int32, errors: Int32) async throws -> Report {
        let loop = try LoopThread(name: "pipeline-loop")
        defer { loop.shutdown() }
        let pool = ChunkPool(capacity: bufferCount, chunkSize: chunkSize)
        let results = AsyncChannel<FileResult>()
        let hashers = try ThreadPool(threads: hasherCount, name: "hasher")

        let reader = PlainThread {
            Self.read(paths: paths, hashers: hashers, pool: pool, results: results)
        }

        let programName = programName
        var report = try await Task(executorPreference: loop.dispatcher) { () throws -> Report in
            var report = Report()
            var finished: [Int: FileResult.Outcome] = [:]
            var next = 0
            while next < paths.count {
                let result = try await results.receive()
                finished[result.index] = result.outcome
                // Print everything that is now in command-line order.
                while let outcome = finished.removeValue(forKey: next) {
                    switch outcome {
                    case .digest(let hex):
                        writeAll(output, SumLine.digest(hex, path: paths[next]))
                        report.hashed += 1
                    case .failure(let reason):
                        writeAll(errors, "\(programName): \(paths[next]): \(reason)\n")
                        report.failed += 1
                    }
                    next += 1
                }
            }
            return report
        }.value

        // Every result has arrived: the reader has ended or is about to, and every hashing job
        // has ended. (On an error above, releasing the pool shuts it down the same way.)
        reader.joinBlocking()
        hashers.shutdown()
        report.buffersReturned = pool.available
        report.buffersOwned = pool.capacity
        return report
    }

    /// The reader thread's work: each file in turn, chunk by chunk, to the hashing job that
    /// owns it.
    private static func read(
        paths: [String], hashers: ThreadPool, pool: ChunkPool, results: AsyncChannel<FileResult>
    ) {
        for (index, path) in paths.enumerated() {
            // "-" is standard input, as for sha256sum.
            let isStandardInput = path == "-"
            let descriptor = isStandardInput ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                try! results.send(FileResult(index: index, outcome: .failure(reason(errno))))
                continue
            }
            defer { if !isStandardInput { close(descriptor) } }
            // The job may wait in the pool's queue: the chunks wait in the channel, and the
            // chunk pool stops the reader when all its buffers are out. No deadlock: the jobs
            // of earlier files have all their chunks already and free their workers.
            let chunks = AsyncChannel<HashWork>()
            // The pool is unbounded and shuts down after the reader has ended: this cannot throw.
            try! hashers.submit { hash(file: index, chunks: chunks, pool: pool, results: results) }
            while true {
                let buffer = pool.take()
                let status = fill(buffer, from: descriptor)
                if status != 0 {
                    pool.giveBack(buffer)
                    // A directory opens fine and fails here with EISDIR, as in sha256sum.
                    try! chunks.send(.failed(reason: reason(status)))
                    break
                }
                if buffer.count == 0 {
                    pool.giveBack(buffer)
                    try! chunks.send(.end)
                    break
                }
                try! chunks.send(.chunk(buffer))
            }
        }
    }

    /// Reads until `buffer` is full or the file ends; returns 0 or the errno of a failed read.
    private static func fill(_ buffer: ChunkBuffer, from descriptor: Int32) -> Int32 {
        while buffer.count < buffer.storage.count {
            let free = UnsafeMutableRawBufferPointer(rebasing: buffer.storage[buffer.count...])
            let got = Glibc.read(descriptor, free.baseAddress, free.count)
            if got > 0 {
                buffer.count += got
            } else if got == 0 {
                return 0
            } else if errno != EINTR {
                return errno
            }
        }
        return 0
    }

    /// One hashing job, on a hasher thread: the chunks of file `file`, in order, until its
    /// end or its failure.
    private static func hash(
        file: Int, chunks: AsyncChannel<HashWork>, pool: ChunkPool, results: AsyncChannel<FileResult>
    ) {
        var state = SHA256()
        // The reader ends every file's channel with `.end` or `.failed` and never closes it.
        while true {
            switch try! chunks.receiveSync() {
            case .chunk(let buffer):
                state.update(bufferPointer: buffer.bytes)
                pool.giveBack(buffer)
            case .end:
                try! results.send(FileResult(index: file, outcome: .digest(hex(state.finalize()))))
                return
            case .failed(let reason):
                try! results.send(FileResult(index: file, outcome: .failure(reason)))
                return
            }
        }
    }

    private static func reason(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// What the reader tells the hashing job of one file, in order, on that file's own channel.
enum HashWork: Sendable {
    /// The next bytes of the file, in a pooled buffer the hasher must give back.
    case chunk(ChunkBuffer)
    /// The file ended: finish the digest.
    case end
    /// Reading the file failed; `reason` says why.
    case failed(reason: String)
}

/// One file's outcome, from a hasher (or the reader, when the file cannot be opened) to the
/// loop task.
struct FileResult: Sendable {
    /// The outcome of hashing one path.
    enum Outcome: Sendable {
        /// The digest as 64 lowercase hex digits.
        case digest(String)
        /// Why the file could not be hashed (`strerror` text).
        case failure(String)
    }

    /// The path's position on the command line.
    let index: Int
    let outcome: Outcome
}

/// Lowercase hex digits of a digest.
func hex(_ digest: SHA256.Digest) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(SHA256.byteCount * 2)
    for byte in digest {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// `sha256sum`'s output format.
enum SumLine {
    /// The line `sha256sum` prints for a file: `<hex>  <path>`. Like GNU coreutils, a path
    /// with a backslash or a newline is escaped and the line starts with a backslash.
    static func digest(_ hex: String, path: String) -> String {
        let scalars = path.unicodeScalars
        guard scalars.contains(where: { $0 == "\\" || $0 == "\n" }) else {
            return "\(hex)  \(path)\n"
        }
        var escaped = String.UnicodeScalarView()
        for scalar in scalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return "\\\(hex)  \(String(escaped))\n"
    }
}

/// Writes all of `text` to `descriptor`, retrying short writes; gives up silently on an error
/// (a closed pipe), as there is nowhere left to report it.
func writeAll(_ descriptor: Int32, _ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}

import Glibc

/// `--self-test`: hashes generated files with the pipeline and with the system's `sha256sum`
/// and compares the two outputs byte for byte.
///
/// The inputs are files of 0 B, 1 B, 1 MiB and 64 MiB of deterministic pseudo-random bytes,
/// a file whose name needs `sha256sum`'s escaping, a missing file and a directory. Standard
/// output must match exactly, standard error once the program names are aligned, and both
/// runs must report failure (for the missing file and the directory). The pool must own all
/// its buffers again at the end.
struct SelfTest {
    var pipeline: Pipeline
    var reference = "/usr/bin/sha256sum"

    /// Runs the test, prints what it checked, and removes its files.
    /// - Returns: whether every check passed.
    func run() async throws -> Bool {
        let directory = try makeTemporaryDirectory()
        let inputs = directory + "/in"
        guard mkdir(inputs, 0o700) == 0 else { throw SelfTestError("mkdir \(inputs)", errno: errno) }
        let files: [(name: String, size: Int)] = [
            ("empty", 0), ("one-byte", 1), ("one-mib", 1 << 20), ("sixty-four-mib", 64 << 20),
            ("back\\slash", 1000),
        ]
        var created: [String] = []
        defer {
            for path in created { unlink(path) }
            for name in ["ours.out", "ours.err", "reference.out", "reference.err"] { unlink(directory + "/" + name) }
            rmdir(inputs)
            rmdir(directory)
        }
        for (seed, file) in files.enumerated() {
            let path = inputs + "/" + file.name
            try writePseudoRandomFile(path, size: file.size, seed: UInt64(seed + 1))
            created.append(path)
        }
        let paths = created + [inputs + "/missing", inputs]

        let ours = (output: directory + "/ours.out", errors: directory + "/ours.err")
        let output = open(ours.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let errors = open(ours.errors, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0, errors >= 0 else { throw SelfTestError("open output files", errno: errno) }
        let started = ContinuousClock.now
        let report = try await pipeline.run(paths: paths, output: output, errors: errors)
        close(output)
        close(errors)
        let ourElapsed = ContinuousClock.now - started

        let theirs = (output: directory + "/reference.out", errors: directory + "/reference.err")
        let referenceStatus = try spawn(reference, paths, output: theirs.output, errors: theirs.errors)

        var passed = true
        func check(_ condition: Bool, _ description: String) {
            print("  \(condition ? "ok  " : "FAIL") \(description)")
            passed = passed && condition
        }
        let ourLines = try readFile(ours.output)
        let theirLines = try readFile(theirs.output)
        let ourErrors = try readFile(ours.errors)
        let theirErrors = try readFile(theirs.errors)
        let alignedErrors = ourErrors.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("\(pipeline.programName): ")
                ? "sha256sum: " + line.dropFirst(pipeline.programName.count + 2) : String(line)
        }.joined(separator: "\n")

        print(
            "self-test: \(paths.count) paths (\(files.map { "\($0.size) B" }.joined(separator: ", ")), a missing file, a directory)"
        )
        check(
            !ourLines.isEmpty && ourLines == theirLines,
            "stdout identical to \(reference) (\(ourLines.utf8.count) bytes)")
        check(alignedErrors == theirErrors, "stderr identical up to the program name (\(report.failed) error lines)")
        check(report.hashed == files.count && report.failed == 2, "\(report.hashed) hashed, \(report.failed) failed")
        let sizes = created.map { path in
            var status = stat()
            return stat(path, &status) == 0 ? Int(status.st_size) : -1
        }
        check(sizes == files.map(\.size), "input sizes on disk \(sizes)")
        check(referenceStatus == 1, "\(reference) exited with status \(referenceStatus) (expected 1)")
        check(
            report.buffersReturned == report.buffersOwned,
            "\(report.buffersReturned)/\(report.buffersOwned) pooled buffers back in the pool")
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("  the pipeline took \(ourElapsed); peak RSS of this process \(usage.ru_maxrss / 1024) MiB")
        if !passed {
            print("--- ours\n\(ourLines)\(ourErrors)--- \(reference)\n\(theirLines)\(theirErrors)---")
        }
        return passed
    }

    /// Writes `size` bytes from a xorshift64* generator seeded with `seed`, 1 MiB at a time.
    private func writePseudoRandomFile(_ path: String, size: Int, seed: UInt64) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SelfTestError("create \(path)", errno: errno) }
        defer { close(descriptor) }
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let block = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: (1 << 20) / 8)
        defer { block.deallocate() }
        var remaining = size
        while remaining > 0 {
            for index in block.indices {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                block[index] = state &* 0x2545_F491_4F6C_DD1D
            }
            let count = min(remaining, block.count * 8)
            var offset = 0
            while offset < count {
                let written = write(descriptor, UnsafeRawPointer(block.baseAddress!) + offset, count - offset)
                guard written > 0 else { throw SelfTestError("write \(path)", errno: errno) }
                offset += written
            }
            remaining -= count
        }
    }

    /// Runs `program` with `arguments`, its stdout and stderr sent to files, and waits for it.
    /// - Returns: its exit status.
    private func spawn(_ program: String, _ arguments: [String], output: String, errors: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // argv[0] is the bare name, so error lines start with "sha256sum:" as they do in a shell.
        let name = String(program.split(separator: "/").last ?? Substring(program))
        let argv: [UnsafeMutablePointer<CChar>?] = ([name] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard status == 0 else { throw SelfTestError("posix_spawn \(program)", errno: status) }
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 {
            guard errno == EINTR else { throw SelfTestError("waitpid", errno: errno) }
        }
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
        return waitStatus & 0x7f == 0 ? (waitStatus >> 8) & 0xff : -1
    }

    private func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/pipeline-self-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw SelfTestError("mkdtemp", errno: errno) }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func readFile(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SelfTestError("open \(path)", errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got == 0 { break }
            guard got > 0 else { throw SelfTestError("read \(path)", errno: errno) }
            bytes += block[0..<got]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A system call the self-test needed failed; the test cannot say anything about the pipeline.
struct SelfTestError: Error, CustomStringConvertible {
    let description: String

    init(_ operation: String, errno code: Int32) {
        description = "self-test could not \(operation): \(String(cString: strerror(code)))"
    }
}

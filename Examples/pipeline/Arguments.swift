import Glibc

/// The command line of `pipeline`.
struct Arguments {
    var paths: [String] = []
    var recursive = false
    var selfTest = false
    var help = false
    var pipeline = Pipeline()

    static let usage = """
        usage: pipeline [-r] [--hashers N] [--buffers N] [--chunk-kib N] [PATH...]
               pipeline --self-test
          Prints the SHA-256 of each file as sha256sum does: "<hex>  <path>", in command-line order;
          "-" or no PATH is standard input.
          -r             hash the files under a directory (sorted) instead of reporting "Is a directory"
          --hashers N    hasher threads (default 2)
          --buffers N    pooled read buffers (default 8); memory is about buffers x chunk size
          --chunk-kib N  size of one read and one buffer in KiB (default 1024)
          --self-test    compare with /usr/bin/sha256sum on generated files; exit 0 only if identical
          --help         this text
        """

    /// Parses `arguments` (without the program name).
    /// - Throws: ``UsageError`` for an unknown option or a bad number.
    init(_ arguments: [String]) throws(UsageError) {
        var remaining = arguments[...]
        func number(after option: String) throws(UsageError) -> Int {
            guard let text = remaining.popFirst(), let value = Int(text), value > 0 else {
                throw UsageError(message: "\(option) needs a positive number")
            }
            return value
        }
        var onlyPaths = false
        while let argument = remaining.popFirst() {
            if onlyPaths || !argument.hasPrefix("-") || argument == "-" {
                paths.append(argument)
                continue
            }
            switch argument {
            case "--": onlyPaths = true
            case "-r", "--recursive": recursive = true
            case "--self-test": selfTest = true
            case "-h", "--help": help = true
            case "--hashers": pipeline.hasherCount = try number(after: argument)
            case "--buffers": pipeline.bufferCount = try number(after: argument)
            case "--chunk-kib": pipeline.chunkSize = try number(after: argument) * 1024
            default: throw UsageError(message: "unknown option \(argument)")
            }
        }
    }
}

/// A command line that `pipeline` cannot run.
struct UsageError: Error {
    let message: String
}

/// Replaces each directory in `paths` by the regular files under it, in sorted order at each
/// level. A directory that cannot be listed stays in the list, so the pipeline reports its
/// error; so do paths that do not exist.
func expandDirectories(_ paths: [String]) -> [String] {
    var expanded: [String] = []
    for path in paths {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR, let directory = opendir(path) else {
            expanded.append(path)
            continue
        }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        let prefix = path.hasSuffix("/") ? path : path + "/"
        expanded += expandDirectories(names.sorted().map { prefix + $0 })
    }
    return expanded
}

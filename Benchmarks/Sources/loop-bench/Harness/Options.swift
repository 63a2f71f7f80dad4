/// The command line: `loop-bench [--quick] [--json FILE] [--filter SCENARIO] [--impl NAME] [--runs N]`.
struct Options {
    /// Fewer operations per run, so that the whole run takes well under a minute (CI).
    var quick = false
    /// Where to write the JSON list of results, if anywhere.
    var jsonPath: String?
    /// Run only scenarios whose name contains one of these (comma-separated on the command line);
    /// one that ends in `$` matches only the scenario of exactly that name (`pool-roundtrip$`).
    var filters: [String] = []
    /// Run only the implementations named exactly so (comma-separated), e.g. to profile or
    /// strace one of them; the reference then only shows when it is among them.
    var implementations: [String] = []
    /// Measured rounds per scenario (each implementation runs once per round).
    var runs: Int?
    var help = false

    static let usage = """
        usage: loop-bench [--quick] [--json FILE] [--filter SCENARIO[,SCENARIO…]] [--impl NAME[,NAME…]] [--runs N]

          --quick            fewer operations per run (CI: the whole run takes < 60 s)
          --json FILE        also write the results as a JSON list to FILE
          --filter NAMES     run only the scenarios whose names contain one of NAMES (NAME$: exactly NAME)
          --impl NAMES       run only the implementations with exactly these names (for perf, strace)
          --runs N           measured runs per implementation (default 7, or 5 with --quick; at least 5)
        """

    /// Parses the arguments after the program name.
    /// - Throws: ``BenchError`` naming the argument that is unknown or lacks its value.
    init(arguments: some Sequence<String>) throws {
        var iterator = arguments.makeIterator()
        func value(of flag: String) throws -> String {
            guard let value = iterator.next() else { throw BenchError("\(flag) needs a value\n\n\(Self.usage)") }
            return value
        }
        while let argument = iterator.next() {
            switch argument {
            case "--quick": quick = true
            case "--json": jsonPath = try value(of: argument)
            case "--filter": filters += try value(of: argument).split(separator: ",").map(String.init)
            case "--impl": implementations += try value(of: argument).split(separator: ",").map(String.init)
            case "--runs":
                let text = try value(of: argument)
                guard let count = Int(text), count >= 5 else {
                    throw BenchError("--runs needs a whole number of at least 5, not '\(text)'")
                }
                runs = count
            case "-h", "--help": help = true
            default: throw BenchError("unknown argument '\(argument)'\n\n\(Self.usage)")
            }
        }
    }

    /// Measured runs per implementation.
    var measuredRuns: Int { runs ?? (quick ? 5 : 7) }

    /// Whether the scenario named `name` was asked for.
    func selects(_ name: String) -> Bool {
        filters.isEmpty || filters.contains { $0.hasSuffix("$") ? name == $0.dropLast() : name.contains($0) }
    }

    /// Whether the implementation named `name` was asked for.
    func selectsImplementation(_ name: String) -> Bool {
        implementations.isEmpty || implementations.contains(name)
    }
}

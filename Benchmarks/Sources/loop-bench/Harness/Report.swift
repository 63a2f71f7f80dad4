import Glibc

/// Renders measurements: a Markdown table for people (also pasted into the README) and the
/// JSON list that `plot.py` and other tools read.
enum Report {
    /// A Markdown table of `measurements`, with each scenario's `× ref` column relative to
    /// its reference implementation, and the implementations' notes as footnotes. When a
    /// row has latency percentiles, the table gains operations per second and the p50 and
    /// p99 latency columns.
    static func table(_ measurements: [Measurement], scenarios: [Scenario]) -> String {
        let timed = measurements.contains { $0.p99Ns != nil && $0.failure == nil }
        var lines = [
            "| scenario | impl | ns/op (median) | min | max | × ref | allocs/op | syscalls/op | cpu ns/op |"
                + (timed ? " ops/s | p50 ns | p99 ns |" : ""),
            "|---|---|---:|---:|---:|---:|---:|---:|---:|" + (timed ? "---:|---:|---:|" : ""),
        ]
        var notes: [String] = []
        for scenario in scenarios {
            let rows = measurements.filter { $0.scenario == scenario.name }
            let reference = rows.first { $0.implementation == scenario.reference && $0.failure == nil }
            for row in rows {
                var name = row.implementation
                if let note = row.note {
                    let number = (notes.firstIndex(of: note) ?? notes.endIndex) + 1
                    if number > notes.count { notes.append(note) }
                    name += " [\(number)]"
                }
                if row.implementation == scenario.reference { name += " (ref)" }
                if let failure = row.failure {
                    lines.append(
                        "| \(scenario.name) | \(name) | failed: \(failure) | | | | | | |" + (timed ? " | | |" : ""))
                    continue
                }
                let ratio = reference.map { format(row.nsPerOp / $0.nsPerOp, significant: 3) + "×" } ?? "–"
                var cells = [
                    scenario.name, name, format(row.nsPerOp, significant: 4), format(row.minNs, significant: 4),
                    format(row.maxNs, significant: 4), ratio, row.allocsPerOp.map { format($0, decimals: 3) } ?? "–",
                    row.syscallsPerOp.map { format($0, decimals: 4) } ?? "–",
                    format(row.cpuNsPerOp, significant: 4),
                ]
                if timed {
                    cells += [
                        row.p99Ns == nil ? "–" : format(1e9 / row.nsPerOp, significant: 4),
                        row.p50Ns.map { format($0, significant: 4) } ?? "–",
                        row.p99Ns.map { format($0, significant: 4) } ?? "–",
                    ]
                }
                lines.append("| " + cells.joined(separator: " | ") + " |")
            }
        }
        for (index, note) in notes.enumerated() { lines.append("\n[\(index + 1)] \(note)") }
        return lines.joined(separator: "\n")
    }

    /// The JSON list `[{"scenario", "impl", "ops_per_run", "ns_per_op", "min_ns", "max_ns",
    /// "allocs_per_op", "syscalls_per_op", "cpu_ns_per_op"}]`, plus `"p50_ns"` and `"p99_ns"` for
    /// implementations that time each operation; failed implementations are left out,
    /// unmeasured figures are null.
    static func json(_ measurements: [Measurement]) -> String {
        let objects = measurements.filter { $0.failure == nil }.map { row in
            var fields = [
                "\"scenario\": \(quoted(row.scenario))",
                "\"impl\": \(quoted(row.implementation))",
                "\"ops_per_run\": \(row.operations)",
                "\"ns_per_op\": \(number(row.nsPerOp))",
                "\"min_ns\": \(number(row.minNs))",
                "\"max_ns\": \(number(row.maxNs))",
                "\"allocs_per_op\": \(number(row.allocsPerOp))",
                "\"syscalls_per_op\": \(number(row.syscallsPerOp))",
                "\"cpu_ns_per_op\": \(number(row.cpuNsPerOp))",
            ]
            if row.p50Ns != nil || row.p99Ns != nil {
                fields += ["\"p50_ns\": \(number(row.p50Ns))", "\"p99_ns\": \(number(row.p99Ns))"]
            }
            return "  {" + fields.joined(separator: ", ") + "}"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    /// Writes `text` to `path`, replacing it.
    /// - Throws: ``BenchError`` with the system's reason when the file cannot be written.
    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else {
            throw BenchError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        let written = text.utf8CString.withUnsafeBufferPointer { fputs($0.baseAddress!, file) }
        try BenchError.check(written >= 0, "cannot write \(path): \(String(cString: strerror(errno)))")
    }

    // MARK: Formatting (no Foundation)

    /// `value` with `significant` significant digits for the integer part's size, e.g.
    /// 1234567 → "1234567", 12.345 → "12.3", 0.01234 → "0.0123".
    static func format(_ value: Double, significant: Int) -> String {
        guard value.isFinite, value != 0 else { return value == 0 ? "0" : "\(value)" }
        var digitsBeforePoint = 0
        var magnitude = abs(value)
        while magnitude >= 1 {
            magnitude /= 10
            digitsBeforePoint += 1
        }
        if digitsBeforePoint == 0 {  // count the zeros after the point
            var leadingZeros = 0
            magnitude = abs(value)
            while magnitude < 0.1 {
                magnitude *= 10
                leadingZeros += 1
            }
            return format(value, decimals: min(9, leadingZeros + significant))
        }
        return format(value, decimals: max(0, significant - digitsBeforePoint))
    }

    /// `value` rounded to `decimals` places after the point.
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let unit = Int64(scale)
        let whole = scaled / unit
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(scaled % unit)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    private static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return format(value, significant: 6)
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}

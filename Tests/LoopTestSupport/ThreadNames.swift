import Glibc

/// The names (`comm`) of this process's threads now, read from `/proc/self/task`: how a
/// test sees that the threads it started (named after it) have ended.
public func processThreadNames() -> [String] {
    guard let directory = opendir("/proc/self/task") else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let id = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard id.first != "." else { continue }
        guard let file = fopen("/proc/self/task/\(id)/comm", "r") else { continue }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        if fgets(&buffer, 64, file) != nil {
            names.append(
                String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }
    return names
}

/// Whether a thread of this process has a name that starts with `prefix`.
public func aThreadIsNamed(_ prefix: String) -> Bool {
    processThreadNames().contains { $0.hasPrefix(prefix) }
}

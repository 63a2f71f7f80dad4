/// Splits the bytes of a stream into lines, however the bytes were cut into reads.
///
/// A line longer than `maxLength` is reported once as ``Line/tooLong`` and its bytes are
/// dropped up to the next newline, so a client cannot make the server buffer without bound.
/// After ``finish()`` (end of stream) a last unterminated line is returned as a line.
struct LineReader {
    enum Line: Equatable {
        case text(Substring)
        case tooLong
    }

    let maxLength: Int
    private var buffer: [UInt8] = []
    /// Where the unread part of `buffer` starts.
    private var start = 0
    /// Dropping the rest of a line that was too long.
    private var discarding = false
    private(set) var isFinished = false

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    /// Appends bytes just read.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 4096 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Marks the end of the stream.
    mutating func finish() { isFinished = true }

    /// Whether no bytes are waiting (a complete or partial line).
    var isEmpty: Bool { start == buffer.count }

    /// The next complete line without its newline, or nil when more bytes are needed.
    mutating func next() -> Line? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[start..<newline]
                start = newline + 1
                if discarding {
                    discarding = false
                    continue
                }
                if line.count > maxLength { return .tooLong }
                return .text(Substring(decoding: line, as: UTF8.self))
            }
            let pending = buffer.count - start
            if discarding {
                start = buffer.count
                return nil
            }
            if pending > maxLength {
                start = buffer.count
                discarding = true
                return .tooLong
            }
            if isFinished && pending > 0 {
                let line = buffer[start...]
                start = buffer.count
                return .text(Substring(decoding: line, as: UTF8.self))
            }
            return nil
        }
    }
}

/// Splits a growing serial log into lines, chunk by chunk, in bounded memory.
///
/// - Terminators: `\n`, `\r\n` and a lone `\r` each end a line (a `\r\n` split across two
///   chunks still counts once), so line numbers match `wc -l` for `\n` and `\r\n` logs.
/// - NUL bytes are dropped: emulators pad the console with them after a reset.
/// - A line longer than `maxLineLength` bytes keeps its first `maxLineLength` bytes; the rest
///   is dropped and counted (`droppedBytes`, `truncatedLines`), so a guest spewing without
///   newlines cannot grow memory.
/// - Invalid UTF-8 passes through as bytes; `SerialLineView.text` decodes it lossily.
///
/// Lines are handed to a callback as borrowed bytes (`SerialLineView`), which costs no
/// allocation for lines that fit in one chunk: the hot path of evidence scanning.
public struct SerialScanner: Sendable {
    /// 16 KiB: far above any real console line, small enough to keep per-log memory trivial.
    public static let defaultMaxLineLength = 16 * 1024

    public let maxLineLength: Int
    /// Lines emitted so far; also the number of the last line.
    public private(set) var lineCount = 0
    /// Lines that were cut at `maxLineLength`.
    public private(set) var truncatedLines = 0
    /// Bytes dropped from over-long lines.
    public private(set) var droppedBytes = 0
    /// Bytes fed so far.
    public private(set) var bytesFed = 0

    /// The current unterminated line (NULs stripped), when it spans chunks or held a NUL.
    private var pending: [UInt8] = []
    private var pendingTruncated = false
    /// The previous chunk ended in `\r`: a `\n` at the start of the next belongs to it.
    private var afterCR = false

    public init(maxLineLength: Int = SerialScanner.defaultMaxLineLength) {
        precondition(maxLineLength > 0, "maxLineLength must be positive")
        self.maxLineLength = maxLineLength
    }

    /// True when bytes of an unterminated line are waiting for their terminator (or `finish`).
    public var hasPartialLine: Bool { !pending.isEmpty || pendingTruncated }

    /// Scans `chunk` and calls `body` for each line it completes, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (SerialLineView) throws -> Void) rethrows {
        guard let raw = chunk.baseAddress, chunk.count > 0 else { return }
        bytesFed += chunk.count
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let end = chunk.count
        var i = 0
        if afterCR {
            afterCR = false
            if base[0] == 0x0a { i = 1 }
        }
        var start = i
        while i < end {
            // Eight bytes at a time past line content: the lowest byte below 0x0e (a CR, LF,
            // NUL or other control byte) is found exactly by the borrow trick, and bytes
            // above it are content. Most of a log is content, so this is most of the scan.
            while end - i >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                let low = (word &- 0x0e0e_0e0e_0e0e_0e0e) & ~word & 0x8080_8080_8080_8080
                if low != 0 {
                    i += low.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < end else { break }
            let byte = base[i]
            // Everything above CR is line content; one compare keeps the common case tight.
            if byte > 0x0d {
                i += 1
                continue
            }
            if byte == 0x0a || byte == 0x0d {
                try emit(UnsafeRawBufferPointer(start: base + start, count: i - start), body)
                i += 1
                if byte == 0x0d {
                    if i == end {
                        afterCR = true
                    } else if base[i] == 0x0a {
                        i += 1
                    }
                }
                start = i
            } else if byte == 0 {
                append(UnsafeRawBufferPointer(start: base + start, count: i - start))
                i += 1
                start = i
            } else {
                i += 1
            }
        }
        append(UnsafeRawBufferPointer(start: base + start, count: end - start))
    }

    /// Ends the log: calls `body` with the unterminated last line, if there is one.
    public mutating func finish(_ body: (SerialLineView) throws -> Void) rethrows {
        afterCR = false
        guard hasPartialLine else { return }
        try emit(UnsafeRawBufferPointer(start: nil, count: 0), body)
    }

    /// Scans `chunk` and returns the lines it completes, as owned copies.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [SerialLine] {
        var lines: [SerialLine] = []
        feed(chunk) { lines.append($0.line) }
        return lines
    }

    /// Scans `bytes` and returns the lines they complete.
    public mutating func feed(_ bytes: [UInt8]) -> [SerialLine] {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Ends the log and returns the unterminated last line, if any.
    public mutating func finish() -> SerialLine? {
        var last: SerialLine?
        finish { last = $0.line }
        return last
    }

    private mutating func emit(_ tail: UnsafeRawBufferPointer, _ body: (SerialLineView) throws -> Void) rethrows {
        lineCount += 1
        if pending.isEmpty && !pendingTruncated {
            // The whole line is in the caller's chunk: hand it out without copying.
            var count = tail.count
            let truncated = count > maxLineLength
            if truncated {
                droppedBytes += count - maxLineLength
                truncatedLines += 1
                count = maxLineLength
            }
            try body(SerialLineView(number: lineCount, bytes: UnsafeRawBufferPointer(rebasing: tail[0..<count]), isTruncated: truncated))
            return
        }
        append(tail)
        let truncated = pendingTruncated
        if truncated { truncatedLines += 1 }
        defer {
            pending.removeAll(keepingCapacity: true)
            pendingTruncated = false
        }
        try pending.withUnsafeBytes { try body(SerialLineView(number: lineCount, bytes: $0, isTruncated: truncated)) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let room = maxLineLength - pending.count
        if bytes.count > room {
            droppedBytes += bytes.count - room
            pendingTruncated = true
        }
        let kept = min(room, bytes.count)
        if kept > 0 { pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<kept])) }
    }
}

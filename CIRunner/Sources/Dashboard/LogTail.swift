import Foundation

/// The last lines of a serial log, read from the end of the file: logs can be megabytes,
/// the page shows about sixty lines.
enum LogTail {
    struct Tail {
        /// 1-based number of the first line shown (exact when the whole file was read,
        /// counted from the end otherwise: lines are numbered from `totalLines`).
        var firstLineNumber: Int
        var lines: [Substring]
        var totalLines: Int
    }

    static func read(_ path: String, lines wanted: Int = 60, maxBytes: Int = 256 << 10) -> Tail? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        // Line numbers must match the file's (the deciding line is cited by number), so
        // count newlines in the part before the tail too, in chunks.
        guard let size = try? handle.seekToEnd() else { return nil }
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        var newlinesBefore = 0
        if start > 0 {
            try? handle.seek(toOffset: 0)
            var remaining = start
            while remaining > 0, let chunk = try? handle.read(upToCount: Int(min(remaining, 1 << 20))), !chunk.isEmpty {
                newlinesBefore += chunk.reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) }
                remaining -= UInt64(chunk.count)
            }
        }
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        var text = String(decoding: data, as: UTF8.self)
        var lineOffset = newlinesBefore
        if start > 0, let newline = text.firstIndex(of: "\n") {
            // The first line is cut; drop it (its newline belongs to line newlinesBefore+1).
            text = String(text[text.index(after: newline)...])
            lineOffset += 1
        }
        var all = text.split(separator: "\n", omittingEmptySubsequences: false)
        if all.last == "" { all.removeLast() }
        let total = lineOffset + all.count
        let shown = Array(all.suffix(wanted))
        return Tail(firstLineNumber: total - shown.count + 1, lines: shown, totalLines: total)
    }
}

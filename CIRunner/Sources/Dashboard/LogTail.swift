import Foundation

/// The last lines of a serial log for a cell page, split and numbered by ``SerialScanner``
/// like the verdict and the VMCS parser, so "line N" means the same line on every page.
enum LogTail {
    struct Tail {
        /// 1-based number of the first line shown.
        var firstLineNumber: Int
        var lines: [Substring]
        var totalLines: Int
    }

    /// Streams the whole file (logs are capped at 64 MiB; the scan runs at memory speed and
    /// keeps only `wanted` lines), since numbering lines needs every terminator before the tail.
    static func read(_ path: String, lines wanted: Int = 60) -> Tail? {
        guard FileManager.default.isReadableFile(atPath: path) else { return nil }
        let follower = SerialFileFollower(path: path, readSize: 1 << 20)
        var tail = SerialLogTail(capacity: max(1, wanted))
        do {
            try follower.flush { tail.append($0) }
        } catch {
            return nil
        }
        let shown = tail.lines
        let total = shown.last?.number ?? 0
        return Tail(firstLineNumber: shown.first?.number ?? 1, lines: shown.map { Substring($0.text) }, totalLines: total)
    }
}

import Foundation

/// Keeps serial logs to a size a store can hold: a hypervisor stuck printing fills a disk in
/// minutes. The head (banner, configuration, the first dump) and the tail (the failure) are
/// what a developer reads, so the middle goes, at line boundaries, with a line saying so:
///
///     [... 1234567 bytes cut by nestci ...]
///
/// Line numbers after the cut move; verdicts and `vmcs.json` are taken before capping.
public enum SerialLogCapper {
    /// 64 MiB.
    public static let defaultLimit = 64 << 20

    /// Rewrites `path` atomically (temporary file + rename) when it is larger than `limit`
    /// bytes, keeping about `limit / 2` bytes of head and of tail. Returns the number of bytes
    /// cut (0 when the file was small enough and left alone).
    @discardableResult
    public static func cap(path: String, limit: Int = defaultLimit) throws -> Int {
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.io, "cannot open the serial log \(path) to cap it (was it written?)")
        }
        defer { try? input.close() }
        let size = Int(try input.seekToEnd())
        guard size > limit else { return 0 }
        let half = max(1, limit / 2)
        // Cut at line boundaries: the head ends after its last newline, the tail starts after
        // its first, looking at most 64 KiB back or forward (a longer line is cut in the middle).
        let window = 64 << 10
        let headWindowStart = max(0, half - window)
        let headWindow = try read(input, from: headWindowStart, count: half - headWindowStart)
        let headEnd = headWindow.lastIndex(of: 0x0A).map { headWindowStart + ($0 - headWindow.startIndex) + 1 } ?? half
        let tailStartGuess = size - half
        let tailWindow = try read(input, from: tailStartGuess, count: min(window, half))
        let tailStart = tailWindow.firstIndex(of: 0x0A).map { tailStartGuess + ($0 - tailWindow.startIndex) + 1 } ?? tailStartGuess
        let cut = tailStart - headEnd
        guard cut > 0 else { return 0 }

        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let output = FileHandle(forWritingAtPath: temporary) else {
            throw StoreError(.io, "cannot write \(temporary) to cap the serial log (is the disk full?)")
        }
        do {
            try copy(input, from: 0, count: headEnd, to: output)
            let newline = headEnd == half && headWindow.last != 0x0A ? "\n" : ""
            try output.write(contentsOf: Data("\(newline)[... \(cut) bytes cut by nestci ...]\n".utf8))
            try copy(input, from: tailStart, count: size - tailStart, to: output)
            try output.synchronize()
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw StoreError(.io, "cannot cap the serial log \(path): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw StoreError(.io, "cannot replace \(path) with its capped copy: \(reason)")
        }
        return cut
    }

    private static func read(_ handle: FileHandle, from offset: Int, count: Int) throws -> Data {
        try handle.seek(toOffset: UInt64(offset))
        return try handle.read(upToCount: count) ?? Data()
    }

    private static func copy(_ input: FileHandle, from offset: Int, count: Int, to output: FileHandle) throws {
        try input.seek(toOffset: UInt64(offset))
        var left = count
        while left > 0, let chunk = try input.read(upToCount: min(left, 1 << 20)), !chunk.isEmpty {
            try output.write(contentsOf: chunk)
            left -= chunk.count
        }
    }
}

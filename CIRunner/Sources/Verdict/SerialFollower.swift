import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Follows a serial log file while the emulator writes it: each ``poll()`` reads only the
/// bytes added since the last one, through one open descriptor, and returns the complete
/// lines among them. Memory stays bounded by one partial line.
final class SerialFollower {
    let path: String
    private var fd: Int32 = -1
    private var offset: off_t = 0
    private var partial: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    private(set) var lineCount = 0
    private(set) var byteCount = 0
    /// Wall-clock time of the last write to the file, as of the last poll that read
    /// something: when the newest line was written, for latency measurements.
    private(set) var lastWrite: Date?
    /// A line longer than this is cut and delivered, so a guest printing no newlines
    /// cannot grow memory without bound.
    static let maxLineBytes = 16 << 10

    init(path: String) { self.path = path }

    deinit { if fd >= 0 { close(fd) } }

    /// New complete lines, numbered from 1. `flush` also delivers a trailing partial
    /// line (after the emulator has ended).
    func poll(flush: Bool = false) -> [(number: Int, text: String)] {
        if fd < 0 {
            // The emulator creates the file once it starts; until then there is nothing.
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return [] }
        }
        var status = stat()
        if fstat(fd, &status) == 0, status.st_size < offset {
            // Truncated under us (a restarted writer): start over.
            offset = 0
            partial = []
        }
        var lines: [(Int, String)] = []
        var readSomething = false
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            guard count > 0 else { break }
            readSomething = true
            offset += off_t(count)
            byteCount += count
            for byte in buffer[0..<count] {
                if byte == UInt8(ascii: "\n") {
                    lines.append(take())
                } else {
                    partial.append(byte)
                    if partial.count >= Self.maxLineBytes { lines.append(take()) }
                }
            }
            if count < buffer.count { break }
        }
        if readSomething, fstat(fd, &status) == 0 {
            lastWrite = Date(
                timeIntervalSince1970: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
        }
        if flush, !partial.isEmpty { lines.append(take()) }
        return lines
    }

    private func take() -> (Int, String) {
        lineCount += 1
        defer { partial.removeAll(keepingCapacity: true) }
        return (lineCount, String(decoding: partial, as: UTF8.self))
    }
}

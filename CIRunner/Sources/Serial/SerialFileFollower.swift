#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Follows a serial log file that an emulator is still writing (`-serial file:PATH`, Bochs
/// `com1: mode=file`): each `poll` reads only what was appended since the last one, from an
/// open descriptor, and returns the lines completed by it. `flush` returns the last,
/// unterminated line once the emulator has stopped.
///
/// The file may not exist yet when following starts (the emulator creates it after a few
/// hundred milliseconds); polls return nothing until it appears. If the file shrinks or is
/// replaced (a re-run truncating it), following starts over from its beginning and line
/// numbers restart at 1; `restarts` counts that.
///
/// Not `Sendable`: it owns a file descriptor and a read position. One task polls it.
public final class SerialFileFollower {
    public let path: String
    /// Bytes of the current file consumed so far.
    public private(set) var offset: Int64 = 0
    /// Times the file shrank or was replaced and following started over.
    public private(set) var restarts = 0
    /// Line splitting state; its counters tell truncated lines and dropped bytes.
    public private(set) var scanner: SerialScanner

    private var fd: Int32 = -1
    private var inode: UInt64 = 0
    private var buffer: [UInt8]

    /// Reads of 64 KiB: large enough for throughput, small enough to stay cache-friendly.
    public init(path: String, maxLineLength: Int = SerialScanner.defaultMaxLineLength, readSize: Int = 64 * 1024) {
        self.path = path
        scanner = SerialScanner(maxLineLength: maxLineLength)
        buffer = [UInt8](repeating: 0, count: max(1, readSize))
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Reads what was appended since the last poll and calls `body` for each completed line.
    /// If `body` throws, the poll stops there and the rest of that read is not delivered.
    public func poll(_ body: (SerialLineView) throws -> Void) throws {
        guard try openIfNeeded(), try restartIfReplaced() else { return }
        var scanner = self.scanner
        // Keep self.scanner's buffer uniquely referenced while scanning, so appends don't copy it.
        self.scanner = SerialScanner(maxLineLength: scanner.maxLineLength)
        defer { self.scanner = scanner }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SerialFollowError(path: path, operation: "read", errno: errno)
            }
            if count == 0 { return }
            offset += Int64(count)
            try buffer.withUnsafeBytes { try scanner.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count]), body) }
        }
    }

    /// Reads what was appended since the last poll and returns the completed lines.
    public func poll() throws -> [SerialLine] {
        var lines: [SerialLine] = []
        try poll { lines.append($0.line) }
        return lines
    }

    /// Reads the rest of the file and calls `body` for every remaining line, including an
    /// unterminated last one. Call when the writer has stopped.
    public func flush(_ body: (SerialLineView) throws -> Void) throws {
        try poll(body)
        try scanner.finish(body)
    }

    /// Reads the rest of the file and returns the remaining lines, including an unterminated last one.
    public func flush() throws -> [SerialLine] {
        var lines: [SerialLine] = []
        try flush { lines.append($0.line) }
        return lines
    }

    private func openIfNeeded() throws -> Bool {
        if fd >= 0 { return true }
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        if opened < 0 {
            if errno == ENOENT { return false }
            throw SerialFollowError(path: path, operation: "open", errno: errno)
        }
        fd = opened
        var info = stat()
        if fstat(fd, &info) == 0 { inode = UInt64(info.st_ino) }
        return true
    }

    /// Starts over when the file shrank or another file took its name; false when there is nothing to read.
    private func restartIfReplaced() throws -> Bool {
        var current = stat()
        guard fstat(fd, &current) == 0 else { throw SerialFollowError(path: path, operation: "fstat", errno: errno) }
        var named = stat()
        let replaced = stat(path, &named) == 0 && UInt64(named.st_ino) != inode
        guard replaced || Int64(current.st_size) < offset else { return true }
        if replaced {
            close(fd)
            fd = -1
        } else {
            lseek(fd, 0, SEEK_SET)
        }
        offset = 0
        restarts += 1
        scanner = SerialScanner(maxLineLength: scanner.maxLineLength)
        return try openIfNeeded()
    }
}

/// Reading a followed serial log failed for a reason other than "not created yet".
public struct SerialFollowError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String {
        "\(path): \(operation) failed: \(String(cString: strerror(errno))); "
            + "check that the file is readable by this user and that its directory still exists"
    }
}

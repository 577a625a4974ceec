#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Takes a guest's serial console from the emulator through a FIFO and keeps it in bounded
/// disk and memory, whatever the guest prints.
///
/// Why a FIFO: with `-serial file:` / Bochs `com1: mode=file` the emulator owns the file,
/// so nothing can cap it while it grows (truncating under a writer without `O_APPEND`
/// leaves a hole the size of everything printed) and a full disk is an error only the
/// emulator sees. Here the emulator's serial path is a FIFO that nestci reads; nestci writes
/// the capture itself, so it caps it, sees `ENOSPC`, and hands each line to the verdict as
/// soon as it is read (no file in between: latency is one poll). If nestci stalls, the pipe
/// fills and the guest's serial writes wait (flow control, as a real UART), nothing is lost.
///
/// The capture keeps the first `headLimit` bytes in order, then the last `tailLimit` bytes in
/// a ring region of the same file (`pwrite`), so the file never exceeds head + tail; memory is
/// one read buffer and one line. ``finish()`` puts the ring in order, cut at line boundaries,
/// with `[... N bytes cut by nestci ...]` between, and renames the result over the FIFO's path,
/// so the attempt folder ends with a plain `serial.txt` (and reproduce.sh's command line, which
/// names that path, runs as is).
///
/// Lines are split by ``SerialScanner`` (the one line model: `\n`, `\r\n`, lone `\r`; NULs
/// dropped), and numbered over everything the guest printed, cut or not.
///
/// Not `Sendable`: it owns descriptors and positions. One task polls it.
public final class SerialCapture {
    /// The emulator's serial path: a FIFO while the boot runs, the capture after ``finish()``.
    public let path: String
    public let headLimit: Int
    public let tailLimit: Int
    /// Bytes the guest printed (read from the FIFO).
    public private(set) var bytesRead = 0
    /// Bytes of the head written so far, in order: what survives a failed write.
    public private(set) var headWritten = 0
    /// Set when writing the capture failed (`ENOSPC`, `EDQUOT`, `EIO`): what failed and what
    /// was kept. Reading and judging go on; nothing more is written.
    public private(set) var writeFailure: SerialCaptureError?
    /// Line splitting state; its `lineCount` is the number of the last complete line.
    public private(set) var scanner: SerialScanner

    private let partPath: String
    private var fifo: Int32 = -1
    private var output: Int32 = -1
    private var buffer: [UInt8]

    /// Creates the FIFO at `path` (replacing whatever is there) and opens it for reading
    /// without blocking, so the emulator's open for writing succeeds at once.
    public init(path: String, headLimit: Int, tailLimit: Int, readSize: Int = 64 * 1024) throws {
        precondition(headLimit > 0 && tailLimit > 0, "a capture keeps some head and some tail")
        self.path = path
        self.headLimit = headLimit
        self.tailLimit = tailLimit
        partPath = path + ".part"
        scanner = SerialScanner()
        buffer = [UInt8](repeating: 0, count: max(1, readSize))
        unlink(path)
        unlink(partPath)
        guard mkfifo(path, 0o600) == 0 else { throw SerialCaptureError(path: path, operation: "mkfifo", errno: errno) }
        fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fifo >= 0 else { throw SerialCaptureError(path: path, operation: "open", errno: errno) }
        output = open(partPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            let error = SerialCaptureError(path: partPath, operation: "create", errno: errno)
            close(fifo)
            fifo = -1
            unlink(path)
            throw error
        }
    }

    deinit {
        if fifo >= 0 { close(fifo) }
        if output >= 0 { close(output) }
    }

    /// True when the guest printed more than head + tail, so the middle is (or will be) cut.
    public var isCut: Bool { bytesRead > headLimit + tailLimit }

    /// Reads what the emulator wrote since the last poll, stores it and calls `body` for each
    /// line it completes. Returns false when nothing was waiting.
    @discardableResult
    public func poll(_ body: (SerialLineView) throws -> Void) throws -> Bool {
        guard fifo >= 0 else { return false }
        var scanner = self.scanner
        // Keep self.scanner's buffer uniquely referenced while scanning, so appends don't copy it.
        self.scanner = SerialScanner()
        defer { self.scanner = scanner }
        var readSomething = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fifo, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                throw SerialCaptureError(path: path, operation: "read", errno: errno)
            }
            // 0: no writer (not opened yet, or gone); the process's exit says which.
            if count == 0 { break }
            readSomething = true
            store(count)
            try buffer.withUnsafeBytes { try scanner.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count]), body) }
            if count < buffer.count { break }
        }
        return readSomething
    }

    /// Reads the rest (call once the emulator has ended) and delivers every remaining line,
    /// including an unterminated last one.
    public func drain(_ body: (SerialLineView) throws -> Void) throws {
        try poll(body)
        var scanner = self.scanner
        defer { self.scanner = scanner }
        try scanner.finish(body)
    }

    /// Closes the FIFO, orders the capture (head, cut line, tail) and renames it over
    /// ``path``. Call after the emulator is gone. Throws when the capture cannot be completed;
    /// whatever was kept is then at ``path`` unordered (a ring) or left in `<path>.part`.
    public func finish() throws {
        if fifo >= 0 {
            close(fifo)
            fifo = -1
        }
        guard output >= 0 else { return }
        defer {
            close(output)
            output = -1
        }
        if writeFailure != nil {
            // The ring may be half written: keep the head, which is in order (shrinking a
            // file needs no space).
            _ = ftruncate(output, off_t(headWritten))
        } else if isCut {
            try orderRing()
            return
        }
        if rename(partPath, path) != 0 {
            throw SerialCaptureError(path: path, operation: "rename", errno: errno)
        }
    }

    /// A sentence on what the capture holds, for reasons and reports.
    public var keptSummary: String {
        if writeFailure != nil {
            return "kept the first \(headWritten) of \(bytesRead) bytes of serial output in \(path)"
        }
        if isCut { return "kept the first \(headLimit) and last \(tailLimit) of \(bytesRead) bytes of serial output in \(path)" }
        return "kept all \(bytesRead) bytes of serial output in \(path)"
    }

    // MARK: - Writing

    private func store(_ count: Int) {
        let start = bytesRead
        bytesRead += count
        guard writeFailure == nil else { return }
        buffer.withUnsafeBytes { all in
            var done = 0
            // Head: in order, at its own offset.
            if start < headLimit {
                let n = min(count, headLimit - start)
                guard write(all, from: 0, count: n, at: start) else { return }
                headWritten += n
                done = n
            }
            // Tail: a ring after the head; each byte goes to headLimit + (stream offset % tailLimit).
            while done < count {
                let streamOffset = start + done - headLimit
                let slot = streamOffset % tailLimit
                let n = min(count - done, tailLimit - slot)
                guard write(all, from: done, count: n, at: headLimit + slot) else { return }
                done += n
            }
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, from: Int, count: Int, at offset: Int) -> Bool {
        var written = 0
        while written < count {
            let n = pwrite(output, bytes.baseAddress! + from + written, count - written, off_t(offset + written))
            if n < 0 {
                if errno == EINTR { continue }
                if offset < headLimit { headWritten += written }
                writeFailure = SerialCaptureError(path: path, operation: "write", errno: errno)
                return false
            }
            written += n
        }
        return true
    }

    /// Rewrites head + ring as head, cut line, tail (oldest first), at line boundaries, into a
    /// temporary file renamed over ``path``.
    private func orderRing() throws {
        let ringStart = (bytesRead - headLimit) % tailLimit  // oldest ring byte's slot
        let window = min(64 << 10, headLimit, tailLimit)
        // Head ends after its last newline within the window; tail starts after its first.
        let headTail = try readAt(headLimit - window, count: window)
        let headEnd = headTail.lastIndex(of: 0x0A).map { headLimit - window + $0 + 1 } ?? headLimit
        let tailFirst = try readRing(from: ringStart, skip: 0, count: window)
        let tailSkip = tailFirst.firstIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let cut = bytesRead - headEnd - (tailLimit - tailSkip)

        let temporary = path + ".ordered"
        let ordered = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard ordered >= 0 else { throw SerialCaptureError(path: temporary, operation: "create", errno: errno) }
        defer { close(ordered) }
        func append(_ bytes: [UInt8]) throws {
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(ordered, $0.baseAddress! + done, bytes.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let error = SerialCaptureError(path: temporary, operation: "write", errno: errno)
                    unlink(temporary)
                    throw error
                }
                done += n
            }
        }
        var offset = 0
        while offset < headEnd {
            let chunk = try readAt(offset, count: min(1 << 20, headEnd - offset))
            try append(chunk)
            offset += chunk.count
        }
        let newline = headEnd == headLimit && headTail.last != 0x0A ? "\n" : ""
        try append(Array("\(newline)[... \(cut) bytes cut by nestci ...]\n".utf8))
        var skip = tailSkip
        while skip < tailLimit {
            let chunk = try readRing(from: ringStart, skip: skip, count: min(1 << 20, tailLimit - skip))
            try append(chunk)
            skip += chunk.count
        }
        guard rename(temporary, path) == 0 else {
            let error = SerialCaptureError(path: path, operation: "rename", errno: errno)
            unlink(temporary)
            throw error
        }
        unlink(partPath)
    }

    private func readAt(_ offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(output, $0.baseAddress, count, off_t(offset)) }
        guard n >= 0 else { throw SerialCaptureError(path: partPath, operation: "read", errno: errno) }
        bytes.removeLast(count - n)
        return bytes
    }

    /// `count` bytes of the ring in stream order, starting `skip` bytes after its oldest byte.
    private func readRing(from ringStart: Int, skip: Int, count: Int) throws -> [UInt8] {
        let slot = (ringStart + skip) % tailLimit
        let first = try readAt(headLimit + slot, count: min(count, tailLimit - slot))
        guard first.count < count else { return first }
        return first + (try readAt(headLimit, count: count - first.count))
    }
}

/// Creating, reading or writing a serial capture failed.
public struct SerialCaptureError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var errno: Int32

    /// True when the disk (or the user's quota) is full.
    public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }

    public var description: String {
        "\(path): \(operation) failed: \(String(cString: strerror(errno)))"
            + (isDiskFull ? "; free space on the store's file system" : "; check the attempt folder and its file system")
    }
}

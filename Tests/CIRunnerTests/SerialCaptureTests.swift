import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Writes to a capture's FIFO as an emulator does.
private final class FIFOWriter {
    let fd: Int32
    init(_ path: String) throws {
        fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(fd >= 0, "open \(path) for writing: \(String(cString: strerror(errno)))")
    }
    deinit { close(fd) }

    /// Writes all of `bytes`, polling `capture` whenever the pipe is full.
    func write(_ bytes: [UInt8], draining capture: SerialCapture, into lines: inout [SerialLine]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                try #require(errno == EAGAIN, "write: \(String(cString: strerror(errno)))")
                try capture.poll { lines.append($0.line) }
                continue
            }
            done += n
        }
    }
}

private func scratch(_ name: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-capture-\(name)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

/// Everything `bytes` gives through a capture's FIFO, as the verdict sees it.
private func captured(_ bytes: [UInt8], headLimit: Int = 1 << 20, tailLimit: Int = 1 << 20) throws -> (lines: [SerialLine], file: String) {
    let folder = try scratch("lines")
    let capture = try SerialCapture(path: "\(folder)/serial.txt", headLimit: headLimit, tailLimit: tailLimit)
    var lines: [SerialLine] = []
    do {
        let writer = try FIFOWriter(capture.path)
        // Odd-sized pieces, so terminators fall across reads.
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 997)
            try writer.write(Array(bytes[offset..<end]), draining: capture, into: &lines)
            offset = end
        }
    }
    try capture.drain { lines.append($0.line) }
    try capture.finish()
    return (lines, capture.path)
}

@Suite("Serial capture: bounded, one line model")
struct SerialCaptureTests {
    @Test("a flood keeps the head and the tail, the file never exceeds head + tail, and every line is judged in order")
    func floodIsCapped() throws {
        let folder = try scratch("flood")
        let capture = try SerialCapture(path: "\(folder)/serial.txt", headLimit: 4096, tailLimit: 4096)
        var attributes = stat()
        #expect(lstat(capture.path, &attributes) == 0 && (attributes.st_mode & S_IFMT) == S_IFIFO, "the emulator writes into a FIFO")
        var lines: [SerialLine] = []
        var largest = 0
        do {
            let writer = try FIFOWriter(capture.path)
            for number in 1...2000 {
                try writer.write(Array("flood line \(number) \(String(repeating: "x", count: 40))\n".utf8), draining: capture, into: &lines)
                if number % 100 == 0 {
                    try capture.poll { lines.append($0.line) }
                    let size = (try FileManager.default.attributesOfItem(atPath: capture.path + ".part")[.size] as? Int) ?? 0
                    largest = max(largest, size)
                }
            }
        }
        try capture.drain { lines.append($0.line) }
        #expect(largest <= 8192, "capped while the guest prints: \(largest) bytes")
        #expect(lines.map(\.number) == Array(1...2000))
        #expect(lines.last?.text.hasPrefix("flood line 2000 ") == true)
        #expect(capture.isCut)
        try capture.finish()

        let text = try String(contentsOfFile: capture.path, encoding: .utf8)
        #expect(!FileManager.default.fileExists(atPath: capture.path + ".part"))
        #expect(text.utf8.count <= 8192 + 64)
        #expect(text.hasPrefix("flood line 1 "))
        #expect(text.hasSuffix("flood line 2000 \(String(repeating: "x", count: 40))\n"))
        let cut = try #require(text.split(separator: "\n").first { $0.hasPrefix("[... ") })
        #expect(cut.hasSuffix(" bytes cut by nestci ...]"))
        // Whole lines on both sides of the cut.
        for line in text.split(separator: "\n") where !line.hasPrefix("[... ") {
            #expect(line.hasPrefix("flood line ") && line.hasSuffix(String(repeating: "x", count: 40)), "\(line)")
        }
        let kept = text.split(separator: "\n").count - 1
        let cutBytes = Int(cut.dropFirst(5).prefix { $0.isNumber })!
        #expect(cutBytes + text.utf8.count - cut.utf8.count - 1 == capture.bytesRead, "the cut line says how much is missing")
        #expect(kept < 2000)
    }

    @Test("a small log is kept whole, as a plain file where the FIFO was")
    func smallLogWhole() throws {
        let bytes = Array("one\r\ntwo\nthree".utf8)
        let (lines, file) = try captured(bytes)
        #expect(lines.map(\.text) == ["one", "two", "three"])
        #expect(FileManager.default.contents(atPath: file) == Data(bytes))
    }

    /// A real capture, and the same bytes mangled the ways consoles are: NUL padding, lone CRs.
    static func variants(_ name: String) throws -> [(String, [UInt8])] {
        let bytes = try SerialSamples.bytes(name)
        var mangled: [UInt8] = [0, 0]
        for (index, byte) in bytes.enumerated() {
            mangled.append(byte)
            if index % 97 == 0 { mangled.append(0) }
            if index % 501 == 0, byte == 0x0a { mangled.append(0x0d) }  // "\n\r": a lone CR after it
        }
        return [(name, bytes), ("\(name) with NULs and lone CRs", mangled)]
    }

    @Test("the verdict (capture), the follower the VMCS parser uses and the dashboard tail number every line alike", arguments: SerialSamples.names)
    func oneLineModel(name: String) throws {
        for (label, bytes) in try Self.variants(name) {
            let folder = try scratch("model")
            let file = "\(folder)/serial.log"
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let verdict = try captured(bytes).lines
            let scanner = SerialScanner.lines(of: bytes)
            let followed = try SerialFileFollower(path: file, readSize: 61).flush()
            #expect(verdict == scanner, "\(label)")
            #expect(followed == scanner, "\(label)")
            let tail = try #require(LogTail.read(file, lines: 60))
            #expect(tail.totalLines == scanner.count, "\(label)")
            #expect(tail.firstLineNumber == scanner.suffix(60).first?.number, "\(label)")
            #expect(tail.lines.map(String.init) == scanner.suffix(60).map(\.text), "\(label)")
            #expect(!verdict.contains { $0.text.contains("\r") || $0.text.contains("\0") }, "\(label)")
        }
    }

    @Test("an XMHF64 log with CRLF ends shows its last 60 of 863 lines, not 'last 3 of 3'")
    func dashboardTailCRLF() throws {
        let folder = try scratch("crlf")
        let file = "\(folder)/serial.log"
        try (1...863).map { "CPU(0x00): xmhf line \($0)\r\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        let tail = try #require(LogTail.read(file, lines: 60))
        #expect(tail.totalLines == 863)
        #expect(tail.firstLineNumber == 804)
        #expect(tail.lines.first == "CPU(0x00): xmhf line 804")
        #expect(tail.lines.last == "CPU(0x00): xmhf line 863")
    }

    @Test("the VMCS parser numbers a dump's lines as the verdict does, in a CRLF log with NULs")
    func vmcsLineNumbers() throws {
        let dump = try String(contentsOf: SerialSamples.directory!.deletingLastPathComponent().appendingPathComponent("vmcs/bad1.txt"), encoding: .utf8)
        var bytes: [UInt8] = Array("\0\0GRUB junk\rBooting\r\n".utf8)
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) { bytes += Array(line.utf8) + [0, 0x0d, 0x0a] }
        let verdict = try captured(bytes).lines
        let folder = try scratch("vmcs")
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/serial.log"))
        let set = try VMCSDumpParser.parse(contentsOf: "\(folder)/serial.log")
        let first = try #require(set.dumps.first)
        let introducer = try #require(first.introducedBy)
        #expect(verdict.first { $0.number == introducer.number }?.text == introducer.text)
        for field in first.fields.prefix(5) {
            #expect(verdict.first { $0.number == field.lineNumber }?.text.contains(field.printedName) == true, "\(field.printedName) on line \(field.lineNumber)")
        }
    }
}

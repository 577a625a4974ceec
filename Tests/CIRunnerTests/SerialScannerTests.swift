import Foundation
import Testing

@testable import CIRunner

/// The real serial captures, copied into `Tests/Fixtures/serial` (see its README) so the
/// tests that read them run in every clone.
enum SerialSamples {
    static let directory: URL? = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/serial")

    static let names = [
        "xmhf-i386-lhv-smp2-bochs.serial.txt", "lhv-i386-bochs.serial.txt", "xmhf-amd64-O3-qemu-tcg-novt.serial.txt",
    ]

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: try #require(directory).appendingPathComponent(name)))
    }
}

/// SplitMix64: a tiny deterministic generator, so random tests fail the same way every time.
struct EvidenceRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SerialScanner {
    /// All lines of `bytes`, fed in chunks whose sizes `chunkSize` picks.
    static func lines(of bytes: [UInt8], maxLineLength: Int = defaultMaxLineLength, chunkSize: () -> Int = { Int.max })
        -> [SerialLine]
    {
        var scanner = SerialScanner(maxLineLength: maxLineLength)
        var lines: [SerialLine] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + max(1, chunkSize()))
            lines += bytes[offset..<end].withUnsafeBytes { scanner.feed($0) }
            offset = end
        }
        if let last = scanner.finish() { lines.append(last) }
        return lines
    }
}

@Suite("Serial scanner")
struct SerialScannerTests {
    @Test("\\n, \\r\\n and a lone \\r end lines; numbers count from 1")
    func terminators() {
        let lines = SerialScanner.lines(of: Array("a\nb\r\nc\rd\r\re".utf8))
        #expect(lines.map(\.text) == ["a", "b", "c", "d", "", "e"])
        #expect(lines.map(\.number) == [1, 2, 3, 4, 5, 6])
    }

    @Test("a \\r\\n split across chunks counts once, whatever the chunking")
    func splitCRLF() {
        let bytes = Array("one\r\ntwo\r\n\r\nthree\r".utf8)
        let whole = SerialScanner.lines(of: bytes)
        #expect(whole.map(\.text) == ["one", "two", "", "three"])
        #expect(SerialScanner.lines(of: bytes, chunkSize: { 1 }) == whole)
        #expect(SerialScanner.lines(of: bytes, chunkSize: { 4 }) == whole)
    }

    @Test("NUL bytes are stripped, invalid UTF-8 decodes lossily")
    func nulAndInvalidUTF8() {
        let lines = SerialScanner.lines(of: [0, 0, 0x61, 0, 0x62, 0x0a, 0xff, 0xfe, 0x63, 0x0a, 0, 0x0a], chunkSize: { 3 })
        #expect(lines.map(\.text) == ["ab", "\u{FFFD}\u{FFFD}c", ""])
    }

    @Test("an over-long line keeps its head; the rest is dropped and counted")
    func lineCap() {
        for chunk in [1, 5, 1000] {
            var scanner = SerialScanner(maxLineLength: 8)
            var lines: [SerialLine] = []
            let bytes = Array("0123456789abcdef\nshort\n0123456789".utf8)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + chunk)
                lines += bytes[offset..<end].withUnsafeBytes { scanner.feed($0) }
                offset = end
            }
            if let last = scanner.finish() { lines.append(last) }
            #expect(lines.map(\.text) == ["01234567", "short", "01234567"], "chunk \(chunk)")
            #expect(lines.map(\.isTruncated) == [true, false, true])
            #expect(scanner.droppedBytes == 8 + 2)
            #expect(scanner.truncatedLines == 2)
        }
    }

    @Test("finish returns the unterminated last line once")
    func finish() {
        var scanner = SerialScanner()
        #expect(Array("done\npartial".utf8).withUnsafeBytes { scanner.feed($0) }.map(\.text) == ["done"])
        #expect(scanner.hasPartialLine)
        #expect(scanner.finish() == SerialLine(number: 2, text: "partial"))
        #expect(scanner.finish() == nil)
    }

    @Test("line counts of the real captures match wc -l", arguments: SerialSamples.names)
    func sampleLineCounts(name: String) throws {
        let bytes = try SerialSamples.bytes(name)
        let newlines = bytes.filter { $0 == 0x0a }.count
        var scanner = SerialScanner()
        let complete = bytes.withUnsafeBytes { scanner.feed($0) }
        #expect(complete.count == newlines, "complete lines are what wc -l counts")
        // A capture stopped mid-line (lhv-i386-bochs) ends in an unterminated line: one more.
        let last = scanner.finish()
        #expect((last != nil) == (bytes.last != 0x0a))
        #expect(!complete.contains { $0.text.contains("\r") })
    }

    @Test("the XMHF banner is found")
    func banner() throws {
        let lines = SerialScanner.lines(of: try SerialSamples.bytes("xmhf-i386-lhv-smp2-bochs.serial.txt"))
        let banner = try #require(lines.first { $0.text.contains("eXtensible Modular Hypervisor Framework (XMHF)") })
        #expect(banner.text == "eXtensible Modular Hypervisor Framework (XMHF) v6.1.0")
        #expect(banner.number == 1)
    }

    @Test("LHV iterations per CPU in the smp2 capture agree with grep")
    func lhvIterationsPerCPU() throws {
        let name = "xmhf-i386-lhv-smp2-bochs.serial.txt"
        let pattern = /^CPU\(0x([0-9a-f]+)\): LHV in XMHF test iter ([0-9]+)$/
        var perCPU: [String: Int] = [:]
        for line in SerialScanner.lines(of: try SerialSamples.bytes(name)) {
            if let match = line.text.wholeMatch(of: pattern) { perCPU[String(match.1), default: 0] += 1 }
        }
        for cpu in ["00", "01"] {
            let count = perCPU[cpu, default: 0]
            #expect(count >= 20, "CPU \(cpu) printed \(count) iterations; the capture has ~21")
            let grepped = try grepCount("CPU(0x\(cpu)): LHV in XMHF test iter", in: name)
            #expect(count == grepped)
        }
        #expect(perCPU.count == 2)
    }

    @Test("random small chunks give the same lines as one piece",
        arguments: SerialSamples.names)
    func randomChunks(name: String) throws {
        let bytes = try SerialSamples.bytes(name)
        let whole = SerialScanner.lines(of: bytes)
        var random = EvidenceRandom(seed: 0x5E71A1)
        #expect(SerialScanner.lines(of: bytes, chunkSize: { Int.random(in: 1...97, using: &random) }) == whole)
    }

    /// `grep -c -F`, as a person would check the capture.
    private func grepCount(_ text: String, in name: String) throws -> Int {
        let grep = Process()
        grep.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        grep.arguments = ["grep", "-c", "-F", text, try #require(SerialSamples.directory).appendingPathComponent(name).path]
        let pipe = Pipe()
        grep.standardOutput = pipe
        try grep.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        grep.waitUntilExit()
        return Int(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}

import Foundation
import Testing

@testable import CIRunner

@Suite("Serial log tail and file follower")
struct SerialLogTests {
    @Test("the tail keeps the last N lines in order")
    func tail() {
        var tail = SerialLogTail(capacity: 3)
        var scanner = SerialScanner()
        Array("1\n2\n3\n4\n5\n".utf8).withUnsafeBytes { bytes in scanner.feed(bytes) { tail.append($0) } }
        #expect(tail.lines.map(\.text) == ["3", "4", "5"])
        #expect(tail.lines.map(\.number) == [3, 4, 5])
        #expect(tail.text == "3\n4\n5")
        tail.append(SerialLine(number: 6, text: "six"))
        #expect(tail.lines.map(\.text) == ["4", "5", "six"])

        var short = SerialLogTail(capacity: 10)
        short.append(SerialLine(number: 1, text: "only"))
        #expect(short.lines.map(\.text) == ["only"])
    }

    @Test("the follower reads only what was appended, and flush returns the unterminated line")
    func follower() throws {
        let dir = try EvidenceTestDirectory()
        let path = dir.path("serial.txt")
        let follower = SerialFileFollower(path: path, readSize: 7)
        #expect(try follower.poll().isEmpty, "no file yet is not an error: the emulator has not created it")

        _ = FileManager.default.createFile(atPath: path, contents: Data("banner\r\nCPU(0x00): par".utf8))
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? writer.close() }
        #expect(try follower.poll() == [SerialLine(number: 1, text: "banner")])
        #expect(follower.offset == 22)
        #expect(try follower.poll().isEmpty)

        try writer.seekToEnd()
        try writer.write(contentsOf: Data("tial\r".utf8))
        #expect(try follower.poll().map(\.text) == ["CPU(0x00): partial"])
        try writer.write(contentsOf: Data("\nHALT!".utf8))
        #expect(try follower.poll().isEmpty, "the \\n completes the \\r\\n, not a new empty line")
        #expect(try follower.flush() == [SerialLine(number: 3, text: "HALT!")])
        #expect(follower.offset == 33)
    }

    @Test("a truncated or replaced file is followed again from its start")
    func restart() throws {
        let dir = try EvidenceTestDirectory()
        let path = dir.path("serial.txt")
        try Data("first run line 1\nfirst run line 2\n".utf8).write(to: URL(fileURLWithPath: path))
        let follower = SerialFileFollower(path: path)
        #expect(try follower.poll().count == 2)

        // qemu -serial file: truncates the same file on a re-run.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("second\n".utf8))
        try handle.close()
        #expect(try follower.poll() == [SerialLine(number: 1, text: "second")])
        #expect(follower.restarts == 1)

        // A new file under the same name (rename over it).
        try Data("third run, longer than what was read so far\n".utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        #expect(try follower.poll().map(\.text) == ["third run, longer than what was read so far"])
        #expect(follower.restarts == 2)
    }

    @Test("following a real capture in small reads matches scanning it whole")
    func followSample() throws {
        let path = try #require(SerialSamples.directory).appendingPathComponent("xmhf-i386-lhv-smp2-bochs.serial.txt").path
        let follower = SerialFileFollower(path: path, readSize: 61)
        let lines = try follower.flush()
        #expect(lines == SerialScanner.lines(of: try SerialSamples.bytes("xmhf-i386-lhv-smp2-bochs.serial.txt")))
        #expect(lines.count == 689)
    }
}

import Foundation
import Testing

@testable import CIRunner

/// Random damage to valid dump lines, deterministic (seeded), checking the invariants the
/// evidence pipeline relies on: nothing crashes, every line is classified exactly once, damaged
/// field lines are counted as malformed, and the scanner accounts for every byte.
@Suite("VMCS parser and serial scanner fuzzing")
struct VMCSFuzzTests {
    static let validLines: [[UInt8]] = {
        let text = (try? VMCSFixtures.text("bad1.txt")) ?? ""
        return text.split(separator: "\r\n").filter { $0.contains(") VMCS02.") }.map { Array($0.utf8) }
    }()

    @Test("2000 random mutations never crash and keep the line accounting exact")
    func mutations() throws {
        let valid = Self.validLines
        try #require(valid.count > 50)
        var random = EvidenceRandom(seed: 0xF022)
        for iteration in 0..<2000 {
            var lines: [[UInt8]] = []
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                var line = valid.randomElement(using: &random)!
                mutate(&line, using: &random)
                lines.append(line)
            }
            lines.append(valid.randomElement(using: &random)!)
            let log = lines.joined(separator: [0x0a]) + [0x0a]

            let total = lineCount(log)
            var parser = VMCSDumpParser(maxLineLength: [64, 1024, SerialScanner.defaultMaxLineLength].randomElement(using: &random)!)
            feedInChunks(log, using: &random) { parser.feed($0) }
            let set = parser.finish()
            #expect(parser.fieldLines + parser.malformedLines + parser.otherLines == total, "iteration \(iteration)")
            #expect(set.dumps.reduce(0) { $0 + $1.fields.count } == parser.fieldLines, "iteration \(iteration)")
            #expect(set.malformedLines == parser.malformedLines)
        }
    }

    @Test("damage that keeps the field shape is always counted as malformed")
    func targetedDamage() {
        var random = EvidenceRandom(seed: 0xBAD)
        for _ in 0..<500 {
            let line = String(decoding: Self.validLines.randomElement(using: &random)!, as: UTF8.self)
            let equals = line.range(of: " = ")!
            let damaged: String
            switch Int.random(in: 0..<5, using: &random) {
            case 0: damaged = String(line[..<equals.upperBound]) + "0x"  // value cut off
            case 1: damaged = String(line[..<equals.upperBound]) + "0x" + String(repeating: "f", count: Int.random(in: 17...64, using: &random))
            case 2: damaged = String(line[..<equals.lowerBound]) + " 0x1"  // no "="
            case 3: damaged = String(line[..<equals.upperBound]) + "0x12g4"  // bad hex
            default:
                // Cut anywhere between the encoding's "(0x" and the value.
                let start = line.range(of: ": (0x")!.upperBound
                let cut = line.index(start, offsetBy: Int.random(in: 0..<line.distance(from: start, to: equals.upperBound), using: &random))
                damaged = String(line[..<cut])
            }
            var parser = VMCSDumpParser()
            parser.feed(Array((damaged + "\n").utf8))
            let set = parser.finish()
            #expect(set.malformedLines == 1, "\(damaged)")
            #expect(set.dumps.isEmpty)
        }
    }

    @Test("the scanner accounts for every byte of random input, in any chunking")
    func scannerBytes() {
        var random = EvidenceRandom(seed: 0x5CA7)
        let alphabet: [UInt8] = [0, 0x0a, 0x0d, 0x0d, 0x20, 0x41, 0x61, 0xff, 0xc3, 0xa9, 0x28, 0x29]
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            let cap = Int.random(in: 1...40, using: &random)
            var scanner = SerialScanner(maxLineLength: cap)
            var kept = 0
            var lines = 0
            feedInChunks(bytes, using: &random) { chunk in
                scanner.feed(chunk) { line in
                    kept += line.bytes.count
                    lines += 1
                    #expect(line.bytes.count <= cap)
                    #expect(!line.bytes.contains(0) && !line.bytes.contains(0x0a) && !line.bytes.contains(0x0d))
                }
            }
            scanner.finish { kept += $0.bytes.count; lines += 1 }
            let separators = bytes.filter { $0 == 0 || $0 == 0x0a || $0 == 0x0d }.count
            #expect(kept + scanner.droppedBytes + separators == bytes.count)
            #expect(lines == scanner.lineCount)
            #expect(lines == lineCount(bytes))
        }
    }

    private func mutate(_ line: inout [UInt8], using random: inout EvidenceRandom) {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: line.removeLast(Int.random(in: 0..<line.count, using: &random))  // truncation
        case 1:  // byte flips
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                line[Int.random(in: 0..<line.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
        case 2:  // garbage, including terminators and NULs, inserted anywhere
            let garbage = (0..<Int.random(in: 1...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            line.insert(contentsOf: garbage, at: Int.random(in: 0...line.count, using: &random))
        case 3:  // a huge number as the value
            if let equals = line.firstIndex(of: UInt8(ascii: "=")) {
                line = Array(line[...equals]) + Array(" 0x".utf8)
                    + (0..<Int.random(in: 1...80, using: &random)).map { _ in Array("0123456789abcdef".utf8).randomElement(using: &random)! }
            }
        case 4: line += Array(repeating: UInt8(ascii: "9"), count: Int.random(in: 1...3000, using: &random))  // long (the parser cap is 64 bytes in some iterations)
        default: break  // left valid
        }
    }

    /// Feeds `bytes` in random-sized chunks.
    private func feedInChunks(_ bytes: [UInt8], using random: inout EvidenceRandom, _ body: (UnsafeRawBufferPointer) -> Void) {
        let largest = [3, 64, 4096].randomElement(using: &random)!
        bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(all.count, offset + Int.random(in: 1...largest, using: &random))
                body(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            }
        }
    }

    /// The reference count: \r\n, \r and \n end lines; a tail with anything but NULs is a line.
    private func lineCount(_ bytes: [UInt8]) -> Int {
        var count = 0
        var tail = false
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x0a || byte == 0x0d {
                count += 1
                tail = false
                if byte == 0x0d, i + 1 < bytes.count, bytes[i + 1] == 0x0a { i += 1 }
            } else if byte != 0 {
                tail = true
            }
            i += 1
        }
        return count + (tail ? 1 : 0)
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Issue 10 §6: seeded mutations of the example matrices, the test matrices and the
/// service config. None may trap; each is accepted or refused with messages that all say
/// where (file, and a line or a JSON path) and hold no raw control character.
@Suite("Input fuzzing")
struct InputFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Matrix seeds: both examples, the fixture-run matrix and a small one with every
    /// optional section (include, exclude, workarounds, defaults, image, vars, cmdline).
    static func matrixSeeds() throws -> [[UInt8]] {
        let examples = try ["examples/demo.json", "examples/xmhf64-nightly.json"].map {
            try [UInt8](Data(contentsOf: root.appendingPathComponent($0)))
        }
        return examples + [Array(FixtureMatrix.matrixText.utf8), Array(kitchenSink.utf8)]
    }

    static let kitchenSink = """
        {
          "name": "sink", "description": "every section",
          "defaults": {"timeouts": {"build": 60, "boot": 30}, "memory": 256},
          "components": {
            "hv": {"kind": "hypervisor", "repository": "/repo/hv", "revision": "{rev}", "options": "--x",
                   "build": {"command": "make OPT='{opt}' BITS={bits} {options} U={u:q}", "outputs": {"k": "out/{bits}/hv.bin", "m": "m.bin"}, "compiler": "gcc", "timeout": 100},
                   "boot": {"kernel": "k", "modules": ["m"], "cmdline": "serial=1", "handoff": "boot-sector"}},
            "g": {"kind": "guest", "repository": "/repo/g", "revision": "main",
                  "build": {"command": "make {v}", "outputs": {"k": "g.bin"}}, "boot": {"kernel": "k", "grub": "multiboot {kernel}"}},
            "img": {"kind": "image", "path": "disk.img", "bits": "amd64"}
          },
          "chains": {
            "n": {"description": "d", "levels": [{"component": "hv", "opt": "O0", "bits": "$bits", "options": "--y", "cmdline": "a=1"}, {"component": "g", "vars": {"v": "1"}}],
                  "verdict": {"pass": ["PASS", {"name": "iter", "regex": "iter \\\\d+", "minPerCPU": 3, "cpus": 2}], "fail": [{"name": "f", "regex": "FAIL"}], "unsupported": ["no VMX"], "defaultFailMarkers": false, "cpuPattern": "CPU\\\\((\\\\d+)\\\\)"},
                  "timeouts": {"build": 10, "boot": 20}, "memory": 512},
            "i": {"levels": [{"component": "hv"}, {"component": "img"}], "verdict": {"pass": ["OK"]}}
          },
          "axes": {"chain": ["n", "i"], "opt": ["O0", "O3"], "bits": ["amd64"], "smp": [1, 2], "backend": ["bochs", "qemu-tcg"], "rev": ["a", "b"], "u": ["x y"]},
          "exclude": [{"chain": "i", "smp": 2}],
          "include": [{"chain": "n", "opt": "O3", "extra": "1"}],
          "workarounds": [{"compiler": "gcc", "minMajor": 12, "maxMajor": 14, "levels": ["O3"], "flags": ["-Wno-x"], "reason": "r"}]
        }
        """

    static let configSeed = """
        {
          "matrices": [
            {"path": "demo.json", "schedule": {"daily": "02:30", "timeZone": "Europe/Zurich"}, "watch": true},
            {"path": "sink.json", "schedule": {"everyHours": 6}}
          ],
          "pollMinutes": 5, "pollSeconds": 30, "debounceSeconds": 120,
          "retention": {"passingDays": 14, "failingDays": 90, "maxBytes": "20G"},
          "dashboard": "dash",
          "webhook": {"url": "https://chat.example.org/hooks/nestci", "timeoutSeconds": 10, "retries": 3},
          "slots": 2
        }
        """

    /// SplitMix64: small, seeded, the same sequence on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }
    }

    /// Pieces that broke readers before, or that should be refused cleanly.
    static let tokens: [String] = [
        #"\ud800"#, #"\udc00"#, #"\ud800\u0041"#, #"\ud83d\ude00"#, #"\u0000"#, #"\u001b[31m"#, #"\n"#, "\n", "\r", "\u{1B}]0;x\u{07}",
        "01", "-0", "1e999", "-1e308", "0.5", "65536", "9999999999999999999999", "true", "null", "[]", "{}", "[[[[[[[[", "}}}}",
        #""../../../../tmp/x""#, #""{o}""#, #""$(id)""#, #""a b""#, #""\u2028""#, "\u{202E}", "\"", "\\", ",", ":", "é", "😀",
        String(repeating: "x", count: 3000), String(repeating: "[", count: 300), #""O4""#, #""qemu""#, #""$bits""#, #""{opt:q}""#,
    ]

    static func mutate(_ seed: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + random.below(4)) {
            guard !bytes.isEmpty else { bytes = Array("{".utf8); continue }
            let at = random.below(bytes.count)
            switch random.below(6) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.below(24)))
            case 2:
                let end = min(bytes.count, at + 1 + random.below(64))
                bytes.insert(contentsOf: bytes[at..<end], at: random.below(bytes.count))
            case 3, 4: bytes.insert(contentsOf: Array(tokens[random.below(tokens.count)].utf8), at: at)
            default:
                // Replace the contents of the string that starts at or after `at`.
                guard let open = bytes[at...].firstIndex(of: UInt8(ascii: "\"")),
                    let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "\""))
                else { continue }
                let token = tokens[random.below(tokens.count)].replacingOccurrences(of: "\"", with: "")
                bytes.replaceSubrange((open + 1)..<close, with: Array(token.utf8))
            }
        }
        return bytes
    }

    /// Every message says where and prints nothing raw.
    static func check(_ issues: [MatrixIssue], _ label: String) {
        #expect(!issues.isEmpty, "\(label): an error with no message")
        for issue in issues {
            let text = issue.description
            #expect(!issue.file.isEmpty && (issue.line > 0 || !issue.path.isEmpty || issue.message.hasPrefix("…")), "\(label): no location: \(text)")
            #expect(!MessageText.hasControl(text), "\(label): raw control character: \(text.debugDescription)")
            #expect(text.count < 1500, "\(label): message of \(text.count) characters")
        }
    }

    /// What `nestci plan` does with the text, in-process: 0 (valid), 65 (refused).
    static func planStatus(_ bytes: [UInt8], file: String) -> Int32 {
        do {
            let matrix = try MatrixFile.parse(String(decoding: bytes, as: UTF8.self), file: file, baseDirectory: "/nonexistent")
            _ = try matrix.plan()
            return 0
        } catch let error as MatrixError {
            check(error.issues, file)
            return 65
        } catch {
            Issue.record("\(file): not a MatrixError: \(error)")
            return 1
        }
    }

    @Test("2,400 mutated matrix files: no trap, every error located and escaped")
    func matrices() throws {
        let seeds = try Self.matrixSeeds()
        var random = Random(state: 20_261_201)
        var statuses: [Int32: Int] = [:]
        for index in 0..<2400 {
            let mutant = Self.mutate(seeds[index % seeds.count], &random)
            statuses[Self.planStatus(mutant, file: "mutant-\(index).json"), default: 0] += 1
        }
        #expect(statuses[0, default: 0] > 0 && statuses[65, default: 0] > 1000, "\(statuses)")
        #expect(statuses.keys.allSatisfy { [0, 65].contains($0) }, "\(statuses)")
    }

    @Test("600 mutated service configs: no trap, every error located and escaped")
    func serviceConfigs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-fuzz-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("examples/demo.json"), to: folder.appendingPathComponent("demo.json"))
        try Self.kitchenSink.write(to: folder.appendingPathComponent("sink.json"), atomically: true, encoding: .utf8)
        let file = folder.appendingPathComponent("service.json").path
        #expect((try? ServiceConfig.parse(Self.configSeed, file: file)) != nil, "the seed is valid")
        var random = Random(state: 42)
        var accepted = 0
        for index in 0..<600 {
            let mutant = Self.mutate(Array(Self.configSeed.utf8), &random)
            do {
                _ = try ServiceConfig.parse(String(decoding: mutant, as: UTF8.self), file: file)
                accepted += 1
            } catch let error as MatrixError {
                Self.check(error.issues, "config mutant \(index)")
            } catch {
                Issue.record("config mutant \(index): not a MatrixError: \(error)")
            }
        }
        #expect(accepted > 0 && accepted < 600)
    }

    @Test("the nestci binary on a sample of mutants exits 0 or 65", .enabled(if: NestCIBinary.path != nil, "needs the built nestci executable"))
    func binarySample() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-fuzz-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seeds = try Self.matrixSeeds()
        var random = Random(state: 7)
        // The issue's reproducer first, then mutants.
        var files: [[UInt8]] = [Array(#"{"name": "x\ud800\u0041"}"#.utf8)]
        for index in 0..<15 { files.append(Self.mutate(seeds[index % seeds.count], &random)) }
        for (index, bytes) in files.enumerated() {
            let path = folder.appendingPathComponent("m\(index).json").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try await SupervisedProcess.run(ProcessSpec(NestCIBinary.path!, ["plan", path], timeout: .seconds(60)))
            guard case .exited(let code) = result.termination else {
                Issue.record("m\(index).json: nestci plan died: \(result.summary)")
                continue
            }
            #expect(code == 0 || code == 65, "m\(index).json: exit \(code): \(result.output.prefix(500))")
            if index == 0 { #expect(code == 65 && result.output.contains(":1:12: invalid JSON: invalid \\u escape")) }
        }
    }
}

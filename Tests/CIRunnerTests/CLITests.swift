import Foundation
import Testing

@testable import CIRunner

@Suite("Command line")
struct CLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let xmhf = root.appendingPathComponent("examples/xmhf64-nightly.json").path

    static func run(_ arguments: [String]) async -> (status: Int32, out: String, err: String) {
        let (console, captured) = Console.capturing()
        let status = await NestCI.main(arguments, console: console)
        return (status, captured.out, captured.err)
    }

    @Test("plan prints the cells and the build keys with their cell counts")
    func planTable() async {
        let result = await Self.run(["plan", Self.xmhf])
        #expect(result.status == 0)
        #expect(result.out.hasPrefix("matrix xmhf64-nightly: 45 cells, 13 builds"))
        #expect(result.out.contains("xmhf64 O3/i386 → xmhf64 O3/i386 → debian11x86 (image)"))
        #expect(result.out.contains("build key"))
    }

    @Test("plan --json is valid JSON with every cell")
    func planJSON() async throws {
        let result = await Self.run(["plan", "--json", Self.xmhf])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        #expect((object["cells"] as? [Any])?.count == 45)
        #expect((object["builds"] as? [Any])?.count == 13, "the seed chain's two XMHFs are configured apart (--enable-optimize-nested-virt, --enable-skip-init-smp)")
    }

    @Test("plan --json shows each build's effective flags, built-in workarounds included", .enabled(if: GCC.major >= 12))
    func planEffectiveFlags() async throws {
        let result = await Self.run(["plan", "--json", Self.xmhf])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        let builds = try #require(object["builds"] as? [[String: Any]])
        func effective(_ build: [String: Any]) -> [String: Any]? { build["effective"] as? [String: Any] }
        let o3 = try #require(builds.first { ($0["spec"] as? [String: Any])?["opt"] as? String == "O3" })
        #expect(effective(o3)?["opt"] as? String == "-O3 -Wno-array-bounds -Wno-stringop-overflow")
        let applied = try #require(effective(o3)?["applied"] as? [[String: Any]])
        #expect(applied.compactMap { ($0["flags"] as? [String])?.first } == ["-Wno-array-bounds", "-Wno-stringop-overflow"])
        #expect((applied.first?["reason"] as? String)?.contains("104657") == true)
        #expect((o3["toolchain"] as? String)?.hasPrefix("gcc") == true)
        let o0 = try #require(builds.first { ($0["spec"] as? [String: Any])?["opt"] as? String == "O0" })
        #expect(effective(o0)?["opt"] as? String == "-O0" && (effective(o0)?["applied"] as? [Any])?.isEmpty == true)
    }

    @Test("a broken matrix prints every error with its JSON path and exits 65")
    func brokenMatrix() async throws {
        var text = try String(contentsOfFile: Self.xmhf, encoding: .utf8)
        text = text.replacingOccurrences(of: #""revision": "lhv""#, with: #""revsion": "lhv""#)
        text = text.replacingOccurrences(of: #""opt": ["O0", "O3"]"#, with: #""opt": ["O0", "O4"]"#)
        text = text.replacingOccurrences(of: #"{"component": "lhv"}],"#, with: #"{"component": "lvh"}],"#)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID()).json").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = await Self.run(["plan", file])
        #expect(result.status == 65)
        #expect(result.err.contains("components.lhv.revsion: unknown key"))
        #expect(result.err.contains(#"axes.opt[1]: unknown level "O4""#))
        #expect(result.err.contains(#"no component named "lvh""#))
        #expect(result.err.contains("errors in \(file)"))
    }

    @Test("a missing matrix file is a data error that names the file")
    func missingFile() async {
        let result = await Self.run(["plan", "/nonexistent/m.json"])
        #expect(result.status == 65)
        #expect(result.err.contains("/nonexistent/m.json: the matrix file does not exist"))
    }

    @Test(
        "usage errors exit 64 and say what to do",
        arguments: [
            (["plan"], "missing FILE"),
            (["plan", "--jsn", "x"], "unknown option --jsn (did you mean --json?)"),
            (["plan", "a", "b"], "unexpected argument \"b\""),
            (["plna"], "unknown command \"plna\" (did you mean \"plan\"?)"),
            ([], "usage: nestci COMMAND"),
        ])
    func usageErrors(arguments: [String], message: String) async {
        let result = await Self.run(arguments)
        #expect(result.status == 64)
        #expect(result.err.contains(message))
    }

    @Test("--help and help COMMAND print help and exit 0")
    func help() async {
        let overview = await Self.run(["--help"])
        #expect(overview.status == 0 && overview.out.contains("commands:") && overview.out.contains("plan"))
        let planHelp = await Self.run(["help", "plan"])
        #expect(planHelp.status == 0 && planHelp.out.contains("usage: nestci plan [options] FILE") && planHelp.out.contains("--json"))
        let dashHelp = await Self.run(["plan", "--help"])
        #expect(dashHelp.out == planHelp.out)
    }

    @Test("option values: inline, separate, repeated, and flags that refuse values")
    func parsing() throws {
        let spec = CommandSpec(
            name: "t", summary: "", arguments: [.init("X", optional: true, variadic: true, help: "")],
            options: [.init("only", value: "KEY", repeatable: true, help: ""), .init("to", value: "DIR", help: ""), .init("json", help: "")])
        let parsed = try spec.parse(["--only=a", "--only", "b", "--to", "d", "p1", "--json", "--", "--p2"])
        #expect(parsed.all("only") == ["a", "b"])
        #expect(parsed.value("to") == "d")
        #expect(parsed.flag("json"))
        #expect(parsed.positionals == ["p1", "--p2"])
        #expect(throws: UsageError.self) { try spec.parse(["--json=1"]) }
        #expect(throws: UsageError.self) { try spec.parse(["--to", "a", "--to", "b"]) }
        #expect(throws: UsageError.self) { try spec.parse(["--to"]) }
        #expect(throws: UsageError.self) { try spec.parse(["-x"]) }
    }
}

/// gcc's major version on this host (0 without gcc), read synchronously for a trait.
enum GCC {
    static let major: Int = {
        guard let pipe = popen("gcc -dumpversion 2>/dev/null", "r") else { return 0 }
        var buffer = [CChar](repeating: 0, count: 64)
        let line = fgets(&buffer, Int32(buffer.count), pipe) != nil ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        pclose(pipe)
        return Int(line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").first ?? "") ?? 0
    }()
}

import Foundation
import Testing

@testable import Matrix

@Suite("Matrix validation messages")
struct ValidationTests {
    static let goodAxes = #"{"chain": ["alone"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}"#

    @Test("unknown level, with the accepted values and a did-you-mean")
    func unknownOpt() {
        let issues = MatrixFixtures.issues(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0", "O3", "O4"], "bits": ["i386"], "backend": ["bochs"]}"#))
        #expect(issues == [#"m.json:15:52: axes.opt[2]: unknown level "O4" (did you mean "O0"?) (expected O0, O1, O2, O3, Os, Og)"#])
    }

    @Test("unknown keys are named with their path and a did-you-mean")
    func unknownKey() {
        var text = MatrixFixtures.matrix(axes: Self.goodAxes)
        text.replaceSubrange(text.range(of: #""revision": "main""#)!, with: #""revison": "main""#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.contains(#"m.json:4:49: components.hv.revison: unknown key "revison" in a component (did you mean "revision"?) (expected one of: kind, description, repository, revision, build, boot, options, path, bits, commitURL)"#))
        #expect(issues.contains(#"m.json:4:11: components.hv: missing required key "revision" (branch, tag or commit)"#))
    }

    @Test("wrong types say what was expected and what was found")
    func wrongType() {
        let issues = MatrixFixtures.issues(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": "O0", "bits": ["i386"], "smp": ["two"], "backend": ["bochs"]}"#))
        #expect(issues.contains("m.json:15:39: axes.opt: expected an array, found a string"))
        #expect(issues.contains("m.json:15:71: axes.smp[0]: expected a whole number of CPUs from 1 to 64"))
        #expect(issues.count == 2, "a mistyped axis is not also reported missing")
    }

    @Test("references to undefined components and chains")
    func undefinedReferences() {
        let text = MatrixFixtures.matrix(axes: #"{"chain": ["alone", "nestd"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}"#)
            .replacingOccurrences(of: #"[{"component": "guest"}]"#, with: #"[{"component": "gest"}]"#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.contains(#"m.json:12:40: chains.alone.levels[0].component: no component named "gest" (did you mean "guest"?) (components: guest, hv)"#))
        #expect(issues.contains(#"m.json:15:31: axes.chain[1]: unknown chain "nestd" (did you mean "nested"?) (expected alone, nested)"#))
    }

    @Test("an expansion that excludes everything is rejected")
    func emptyExpansion() {
        let issues = MatrixFixtures.issues(MatrixFixtures.matrix(axes: Self.goodAxes, extra: #""exclude": [{"chain": "alone"}]"#))
        #expect(issues == ["m.json: axes: the matrix expands to no cells (the excludes remove every cell)"])
    }

    @Test("absurd sizes are rejected before expanding")
    func tooLarge() {
        let many = (1...64).map(String.init).joined(separator: ", ")
        let issues = MatrixFixtures.issues(MatrixFixtures.matrix(axes: #"{"chain": ["alone"], "opt": ["O0", "O1", "O2", "O3", "Os", "Og"], "bits": ["i386", "amd64"], "smp": [\#(many)], "user": [\#(many)], "backend": ["bochs"]}"#))
        #expect(issues == ["m.json: axes: the axes multiply to 49152 cells, more than the limit of 10000 (remove axis values or split the matrix)"])
    }

    @Test("unknown placeholders in templates are caught at load time")
    func unknownPlaceholder() {
        let text = MatrixFixtures.matrix(axes: Self.goodAxes).replacingOccurrences(of: "BITS={bits} {options}", with: "BITS={bitz} {options}")
        #expect(MatrixFixtures.issues(text).contains(where: { $0.contains("components.hv.build.command: unknown placeholder {bitz} (did you mean \"bits\"?)") }))
    }

    @Test("boot names an output the component does not declare")
    func bootOutput() {
        let text = MatrixFixtures.matrix(axes: Self.goodAxes).replacingOccurrences(of: #""boot": {"kernel": "k"}},"#, with: #""boot": {"kernel": "kernal"}},"#)
        #expect(MatrixFixtures.issues(text).contains(#"m.json: components.hv.boot.kernel: "kernal" is not an output of this component (outputs: k)"#))
    }

    @Test("invalid JSON reports the position")
    func invalidJSON() {
        #expect(MatrixFixtures.issues("{\n  \"name\": \"x\",\n  oops\n}") == ["m.json:3:3: invalid JSON: expected a key in double quotes"])
    }

    @Test("invalid regular expressions are rejected")
    func invalidRegex() {
        let text = MatrixFixtures.matrix(axes: Self.goodAxes).replacingOccurrences(of: #""verdict": {"pass": ["PASS"]}}"#, with: #""verdict": {"pass": ["PASS("]}}"#)
        #expect(MatrixFixtures.issues(text).contains(where: { $0.contains(#"chains.alone.verdict.pass[0]: invalid regular expression "PASS(""#) }))
    }

    @Test("a broken copy of the XMHF example reports all its errors at once")
    func brokenExampleAllErrors() throws {
        var text = try String(contentsOfFile: MatrixFixtures.xmhfExample, encoding: .utf8)
        text = text.replacingOccurrences(of: #""revision": "lhv""#, with: #""revsion": "lhv""#)
        text = text.replacingOccurrences(of: #""opt": ["O0", "O3"]"#, with: #""opt": ["O0", "O9"]"#)
        text = text.replacingOccurrences(of: #"{"component": "lhv"}],"#, with: #"{"component": "lvh"}],"#)
        let issues = MatrixFixtures.issues(text)
        #expect(issues.count >= 3)
        #expect(issues.contains { $0.contains(#"components.lhv.revsion: unknown key "revsion""#) && $0.contains(#"did you mean "revision""#) })
        #expect(issues.contains { $0.contains(#"axes.opt[1]: unknown level "O9""#) })
        #expect(issues.contains { $0.contains(#"no component named "lvh" (did you mean "lhv"?)"#) })
    }

    @Test("the JSON parser keeps key order and positions, and rejects duplicates")
    func parser() throws {
        let value = try JSONParser.parse("{\"b\": 1,\n \"a\": [true, null, \"x\\u00e9\"]}")
        guard case .object(let members) = value.kind else {
            Issue.record("expected an object")
            return
        }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(members[1].value.line == 2 && members[1].value.column == 7)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(#"{"a": 1, "a": 2}"#) }
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse("[1, 2,]") }
    }
}

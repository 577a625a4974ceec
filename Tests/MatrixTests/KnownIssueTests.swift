import Foundation
import Testing

@testable import Matrix

/// Issue 12 "Known issues" and the commit URL template: parsing, validation, expiry, matching.
@Suite("Known issues and commit URLs")
struct KnownIssueTests {
    static let axes = ValidationTests.goodAxes

    static func matrix(_ extra: String) -> String { MatrixFixtures.matrix(axes: axes, extra: extra) }

    @Test("entries are read with their optional keys and where they were written")
    func parses() throws {
        let matrix = try MatrixFile.parse(
            Self.matrix(#""knownIssues": [{"signature": "FAIL fail:halt .*HALT", "component": "hv", "expires": "2027-03-01", "link": "https://bugs/1"}, {"signature": "TIMEOUT", "link": "BUG-2"}]"#),
            file: "m.json")
        #expect(matrix.knownIssues.count == 2)
        #expect(matrix.knownIssues[0] == KnownIssue(signature: "FAIL fail:halt .*HALT", component: "hv", expires: "2027-03-01", link: "https://bugs/1", origin: "m.json:16:19: knownIssues[0]"))
        #expect(matrix.knownIssues[1].component == nil && matrix.knownIssues[1].expires == nil)
        #expect(try matrix.plan().knownIssues == matrix.knownIssues)
    }

    @Test("bad entries are reported with their JSON path")
    func validation() {
        let issues = MatrixFixtures.issues(
            Self.matrix(#""knownIssues": [{"signature": "FAIL (", "link": "x"}, {"link": "y", "component": "hvv", "expires": "2026-02-30"}, {"signature": "s", "lnk": "z"}, 3]"#))
        #expect(issues.contains { $0.contains("knownIssues[0].signature: invalid regular expression \"FAIL (\"") })
        #expect(issues.contains { $0.contains("knownIssues[1]: missing required key \"signature\"") })
        #expect(issues.contains { $0.contains("knownIssues[1].component: no component named \"hvv\" (did you mean \"hv\"?)") })
        #expect(issues.contains { $0.contains("knownIssues[1].expires: bad date \"2026-02-30\" (expected YYYY-MM-DD") })
        #expect(issues.contains { $0.contains("knownIssues[2].lnk: unknown key \"lnk\" in a known issue (did you mean \"link\"?)") })
        #expect(issues.contains { $0.contains("knownIssues[2]: missing required key \"link\"") })
        #expect(issues.contains { $0.contains("knownIssues[3]: expected an object, found a number") })
        #expect(MatrixFixtures.issues(Self.matrix(#""knownIssues": {"a": 1}"#)).contains { $0.contains("knownIssues: expected an array, found an object") })
    }

    @Test("a file named by the matrix, relative to it; its problems name that file")
    func fromFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("known-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let list = folder.appendingPathComponent("known.json").path
        try #"[{"signature": "HALT", "link": "https://bugs/9"}]"#.write(toFile: list, atomically: true, encoding: .utf8)
        let matrix = try MatrixFile.parse(Self.matrix(#""knownIssues": "known.json""#), file: "m.json", baseDirectory: folder.path)
        #expect(matrix.knownIssues.map(\.link) == ["https://bugs/9"])
        #expect(matrix.knownIssues[0].origin == "\(list):1:2: [0]")

        try "[{\"signature\": \"HALT\"},\n {\"link\": \"l\", \"signature\": \"(\"}]".write(toFile: list, atomically: true, encoding: .utf8)
        var issues: [String] = []
        do { _ = try MatrixFile.parse(Self.matrix(#""knownIssues": "known.json""#), file: "m.json", baseDirectory: folder.path) } catch let error as MatrixError {
            issues = error.issues.map(\.description)
        }
        #expect(issues.contains("\(list):1:2: [0]: missing required key \"link\" (where the issue is tracked, e.g. \"https://bugs.example.org/123\")"))
        #expect(issues.contains { $0.hasPrefix("\(list):2:29: [1].signature: invalid regular expression") }, "\(issues)")
        let missing = MatrixFixtures.issues(Self.matrix(#""knownIssues": "nope.json""#))
        #expect(missing.contains { $0.contains("knownIssues: known-issues file") && $0.contains("does not exist") })
    }

    @Test("an entry expires after its last day (UTC), with a warning naming where it is")
    func expiry() throws {
        let issue = KnownIssue(signature: "x", expires: "2026-12-01", link: "L", origin: "m.json:3:5: knownIssues[0]")
        let lastDay = try #require(KnownIssue.day("2026-12-01")).addingTimeInterval(23 * 3600 + 59 * 60)
        #expect(!issue.isExpired(on: lastDay))
        #expect(issue.isExpired(on: lastDay.addingTimeInterval(120)))
        let (active, warnings) = KnownIssue.active([issue, KnownIssue(signature: "y", link: "M")], on: lastDay.addingTimeInterval(3600))
        #expect(active.map(\.link) == ["M"])
        #expect(warnings == ["m.json:3:5: knownIssues[0]: known issue L expired on 2026-12-01 and is ignored (extend \"expires\" or remove the entry)"])
    }

    @Test("matching: the regex over the signature text, limited to cells with the component")
    func matching() {
        let halt = KnownIssue(signature: #"^FAIL fail:halt "CPU\(#\): HALT"#, component: "hv", link: "L")
        let text = #"FAIL fail:halt "CPU(#): HALT!""#
        #expect(halt.matches(signature: text, components: ["hv", "guest"]))
        #expect(!halt.matches(signature: text, components: ["guest"]), "a cell without the component")
        #expect(!halt.matches(signature: #"TIMEOUT timeout "CPU(#): HALT!""#, components: ["hv"]))
        let any = KnownIssue(signature: "HALT", link: "M")
        #expect(KnownIssue.match([halt, any], signature: text, components: ["guest"])?.link == "M")
    }

    @Test("commitURL: http(s) with {commit} only, and the commit is percent-encoded")
    func commitURL() throws {
        let matrix = try MatrixFile.parse(
            Self.matrix("").replacingOccurrences(of: #""revision": "main","#, with: #""revision": "main", "commitURL": "https://git.example.org/hv/commit/{commit}","#),
            file: "m.json")
        #expect(matrix.commitURLs["hv"] == "https://git.example.org/hv/commit/{commit}")
        for bad in ["javascript:alert(1)//{commit}", "https://x.org/commit/", "ftp://x.org/{commit}", "https://x.org/a b/{commit}"] {
            let text = Self.matrix("").replacingOccurrences(of: #""revision": "main","#, with: #""revision": "main", "commitURL": "\#(bad)","#)
            #expect(MatrixFixtures.issues(text).contains { $0.contains("components.hv.commitURL: ") }, "\(bad)")
        }
        #expect(CommitURLTemplate.url("https://x.org/c/{commit}", commit: "3c6192ea0") == "https://x.org/c/3c6192ea0")
        #expect(CommitURLTemplate.url("https://x.org/c/{commit}", commit: "a\"><script>/../x?y#z") == "https://x.org/c/a%22%3E%3Cscript%3E%2F..%2Fx%3Fy%23z")
        #expect(CommitURLTemplate.url("javascript:{commit}", commit: "a") == nil)
    }
}

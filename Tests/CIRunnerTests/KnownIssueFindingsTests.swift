import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Issue 12 "Known issues": a failure matching an entry is reported as "known: LINK", apart
/// from new findings, in findings.json, `nestci report` and the dashboard; commits are
/// linked through `commitURL`, escaped.
@Suite("Known issues in findings, report and dashboard", .serialized)
struct KnownIssueFindingsTests {
    static func cells() throws -> (pass: CellResult, fail: CellResult, other: CellResult) {
        let cells = try DashboardFixture.cells()
        let a = CellResult(cell: cells[0], outcome: .pass, rule: "pass", reason: "PASS", commits: ["hv": "aaaa"])
        var b = CellResult(cell: cells[0], outcome: .fail, rule: "fail:halt", reason: "CPU(0x01): HALT! at 0xdeadbeef", commits: ["hv": "bbbb"])
        b.signature = FailureSignature(result: b)
        var c = CellResult(cell: cells[1], outcome: .fail, rule: "fail:triple-fault", reason: "triple fault", commits: ["hv": "bbbb"])
        c.signature = FailureSignature(result: c)
        return (a, b, c)
    }

    @Test("regressions matching an entry are known; others stay new; a fix never is")
    func marking() throws {
        let (pass, fail, other) = try Self.cells()
        let previous = [pass, CellResult(cell: try DashboardFixture.cells()[1], outcome: .pass, rule: "pass", reason: "PASS")]
        let findings = FindingsAnalyzer(runID: "r2", cells: [fail, other], previousRunID: "r1", previousCells: previous).findings()
        #expect(findings.filter { $0.kind == .regression }.count == 2)
        let issues = [KnownIssue(signature: #"^FAIL fail:halt "CPU\(#\): HALT"#, component: "hv", link: "https://bugs.example.org/7")]
        let marked = FindingsAnalyzer.markKnown(findings, cells: [fail, other], runID: "r2", issues: issues)
        let known = marked.filter { $0.known != nil }
        #expect(known.count == 1 && known[0].cellIDs == [fail.cellID])
        #expect(known[0].text.hasPrefix("[known: https://bugs.example.org/7] "))
        #expect(marked.first { $0.cellIDs == [other.cellID] }?.known == nil)
        // The component limits it: a cell without `xmhf` does not match.
        let elsewhere = [KnownIssue(signature: "HALT", component: "xmhf", link: "L")]
        #expect(FindingsAnalyzer.markKnown(findings, cells: [fail, other], runID: "r2", issues: elsewhere).allSatisfy { $0.known == nil })
    }

    @Test("finishRun drops expired entries with a warning and keeps commit URL templates; report shows known apart")
    func finishAndReport() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-known-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ArtifactStore(root: root)
        let (pass, fail, other) = try Self.cells()
        let started = Date(timeIntervalSince1970: 1_790_000_000)
        for (id, cells) in [("20261201-0100-aaaa", [pass, CellResult(cell: try DashboardFixture.cells()[1], outcome: .pass, rule: "pass", reason: "PASS")]), ("20261202-0100-bbbb", [fail, other])] {
            try await store.beginRun(id: id, matrix: "m", matrixPath: "/m.json", trigger: "t", hostJSON: "{}", cellIDs: cells.map(\.cellID), started: started)
            let issues = [
                KnownIssue(signature: "fail:halt", link: "https://bugs.example.org/7", origin: "m.json:3:4: knownIssues[0]"),
                KnownIssue(signature: "triple", expires: "2020-01-01", link: "OLD-1", origin: "m.json:4:4: knownIssues[1]"),
            ]
            try await store.finishRun(
                id: id, results: RunResults(runID: id, matrix: "m", started: started, finished: started, cells: cells), knownIssues: issues,
                commitURLs: ["hv": "https://git.example.org/hv/commit/{commit}"])
        }
        let report = try #require(await store.storedFindingsReport(runID: "20261202-0100-bbbb"))
        #expect(report.warnings == ["m.json:4:4: knownIssues[1]: known issue OLD-1 expired on 2020-01-01 and is ignored (extend \"expires\" or remove the entry)"])
        #expect(report.commitURLs == ["hv": "https://git.example.org/hv/commit/{commit}"])
        #expect(report.findings.filter { $0.known != nil }.count == 1, "the expired entry matches nothing")
        let summary = try #require(try await store.run("20261202-0100-bbbb"))
        let text = ReportCommand.render(summary: summary, previous: nil, findings: report.findings, warnings: report.warnings ?? [])
        #expect(text.contains("2 findings (1 new, 1 known)"))
        let newAt = try #require(text.range(of: "[regression]")), knownAt = try #require(text.range(of: "[known: https://bugs.example.org/7]"))
        #expect(newAt.lowerBound < knownAt.lowerBound, "new findings first")
        #expect(text.contains("warning: m.json:4:4: knownIssues[1]: known issue OLD-1 expired"))

        // The dashboard: known apart, commits linked.
        let dashboard = "\(root)/dash"
        try await DashboardPublisher(store: store, folder: dashboard).publish()
        let page = try String(contentsOfFile: "\(dashboard)/runs/20261202-0100-bbbb/index.html", encoding: .utf8)
        let findingsAt = try #require(page.range(of: "<h2 id=\"findings\">")), knownHeading = try #require(page.range(of: "<h2 id=\"known\">Known issues</h2>"))
        #expect(findingsAt.lowerBound < knownHeading.lowerBound)
        #expect(page[knownHeading.upperBound...].contains("known: <a href=\"https://bugs.example.org/7\">"))
        #expect(page.contains("<a href=\"https://git.example.org/hv/commit/bbbb\"><span title=\"bbbb\">bbbb</span></a>"))
    }

    @Test("dashboard links and known links are escaped; a non-http link is text")
    func escaping() throws {
        #expect(HTML.link("javascript:alert(1)") == "javascript:alert(1)")
        #expect(HTML.link("https://x.org/?a=\"><b>") == "<a href=\"https://x.org/?a=&quot;&gt;&lt;b&gt;\">https://x.org/?a=&quot;&gt;&lt;b&gt;</a>")
        let linked = HTML.commit("ab\"<c", component: "hv (1 of 2)", templates: ["hv": "https://g.org/c/{commit}"])
        #expect(linked == "<a href=\"https://g.org/c/ab%22%3Cc\"><span title=\"ab&quot;&lt;c\">ab&quot;&lt;c</span></a>")
        #expect(HTML.commit("abc", component: "lhv", templates: ["hv": "https://g.org/c/{commit}"]) == "<span title=\"abc\">abc</span>")
    }
}

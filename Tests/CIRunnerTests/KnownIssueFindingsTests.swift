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

/// Issue 12 "Result": the bisect on the finding and its steps table on the cell page, escaped.
@Suite("Bisect on the dashboard and in the webhook")
struct BisectPresentationTests {
    static func record(cellID: String, runID: String) -> BisectRecord {
        let signature = FailureSignature(outcome: .fail, rule: "fail:halt", line: "CPU(#): <HALT> \"now\"")
        func step(_ commit: String, _ purpose: BisectStep.Purpose, _ verdict: String, _ outcomes: [Outcome]) -> BisectStep {
            BisectStep(
                commit: commit, purpose: purpose, verdict: verdict, outcomes: outcomes, signature: outcomes.contains(.fail) ? signature : nil,
                runID: "20261202-0300-inv1", cellIDs: outcomes.indices.map { "\(cellID)~\($0)" }, note: nil)
        }
        return BisectRecord(
            id: "b1", runID: runID, cellID: cellID, matrix: "m", level: 0, component: "hv", good: "aaaa1111", bad: "bbbb2222", signature: signature,
            bootsPerStep: 1, bootsReason: "never flaky in the last 14 runs", investigationRunID: "20261202-0300-inv1", status: .finished,
            steps: [step("cccc3333", .bisect, "good", [.pass]), step("dddd4444", .bisect, "bad", [.fail]), step("dddd4444", .confirm, "bad", [.fail, .fail])],
            culprit: BisectCommit(commit: "dddd4444", subject: "vmcs: <b>fix</b> \"link\"", author: "A & B", date: "2026-11-30", parents: ["cccc3333"]),
            builds: 3, cachedBuilds: 1, boots: 4, minutes: 2, confidence: 0.99, notes: [], started: Date(), finished: Date())
    }

    @Test("the finding shows the culprit linked through commitURL and the cost; the cell page has the steps table linking each boot")
    func dashboard() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-bisect-dash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let cell = try DashboardFixture.cells()[0]
        let result = CellResult(cell: cell, outcome: .fail, rule: "fail:halt", reason: "HALT", commits: ["hv": "bbbb2222"])
        let record = Self.record(cellID: cell.id, runID: "20261202-0200-bbbb")
        var finding = DashboardFinding(kind: .regression, title: "regressed", cellIDs: [cell.id])
        finding.bisect = record
        var run = DashboardRun(id: "20261202-0200-bbbb", matrix: "m", trigger: "t", started: Date(), finished: Date(), cells: [result], findings: [finding])
        run.commitURLs = ["hv": "https://git.example.org/hv/commit/{commit}"]
        let stepRun = DashboardRun(
            id: "20261202-0300-inv1", matrix: "m", trigger: "bisect:b1", started: Date(), finished: Date(),
            cells: [CellResult(cell: cell, outcome: .pass, rule: "pass", reason: "PASS")])
        try Dashboard(folder: base.path).write(runs: [run], investigations: [stepRun])
        let runPage = try String(contentsOf: base.appendingPathComponent("runs/20261202-0200-bbbb/index.html"), encoding: .utf8)
        #expect(runPage.contains("first bad commit hv <b class=\"mono\"><a href=\"https://git.example.org/hv/commit/dddd4444\">"))
        #expect(runPage.contains("“vmcs: &lt;b&gt;fix&lt;/b&gt; &quot;link&quot;” (A &amp; B, 2026-11-30)"))
        #expect(runPage.contains("confidence <b>0.99</b> · 2 steps, 4 builds (1 cached), 4 boots"))
        let folder = Dashboard.folderName(cell.id)
        let cellPage = try String(contentsOf: base.appendingPathComponent("runs/20261202-0200-bbbb/\(folder)/index.html"), encoding: .utf8)
        #expect(cellPage.contains("<h2 id=\"bisect\">Bisect of hv aaaa111..bbbb222</h2>"))
        let table = try #require(cellPage.components(separatedBy: "<table class=\"steps\">").last?.components(separatedBy: "</table>").first)
        #expect(table.components(separatedBy: "<tr").count - 1 == 4, "a header and three steps")
        #expect(cellPage.contains("CPU(#): &lt;HALT&gt; &quot;now&quot;"))
        #expect(cellPage.contains("<a href=\"../../20261202-0300-inv1/\(Dashboard.folderName("\(cell.id)~0"))/index.html\">1</a>"))
        #expect(cellPage.contains("<tr class=\"culprit\">"))
        // The steps' run has its pages, and is not on the index.
        #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent("runs/20261202-0300-inv1/index.html").path))
        let index = try String(contentsOf: base.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(!index.contains("20261202-0300-inv1"))

        // The webhook: bisect.finished carries the record and the culprit line.
        let note = RunNotification(bisect: record, run: run)
        #expect(note.event == "bisect.finished" && note.bisect == record && note.findings.count == 1)
        #expect(note.text.contains("first bad commit: hv dddd4444 \"vmcs: <b>fix</b> \\\"link\\\"\"") || note.text.contains("first bad commit: hv dddd4444"))
        let json = String(decoding: try JSONEncoder().encode(note), as: UTF8.self)
        #expect(json.contains("\"culprit\""))
    }
}

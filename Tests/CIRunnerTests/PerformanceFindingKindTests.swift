import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Issue 15: `slower` / `faster` findings are their own kind wherever kinds are shown, and
/// investigation runs (bisect/triage steps) stay out of a cell's timing history.
@Suite("Performance findings: kinds and history")
struct PerformanceFindingKindTests {
    typealias Fixture = PerformanceFindingTests

    /// A confirmed `slower` (80 s → 127 s) and a confirmed `faster` (127 s → 80 s) finding.
    static func findings() throws -> (slower: Finding, faster: Finding) {
        let slow = Fixture.result(127, commit: Fixture.commitB)
        let slower = try #require(
            Fixture.analyzer(slow, history: Fixture.history(Fixture.quiet)).findings(confirmations: [slow.cellID: Fixture.result(125, commit: Fixture.commitB)]).first)
        let slowNights: [(String, Double)] = Array(repeating: (Fixture.commitB, 127.0), count: 3) + [(Fixture.commitB, 126), (Fixture.commitB, 128)]
        let quick = Fixture.result(80, commit: Fixture.commitC)
        let faster = try #require(
            Fixture.analyzer(quick, history: Fixture.history(slowNights)).findings(confirmations: [quick.cellID: Fixture.result(81, commit: Fixture.commitC)]).first)
        return (slower, faster)
    }

    @Test("dashboard: `slower` and `faster` are their own kinds with their own colour, not \"other\"; chat says which way")
    func dashboardKinds() throws {
        let (slower, faster) = try Self.findings()
        #expect(slower.kind == .slower && faster.kind == .faster)
        let shown = [slower, faster].map(DashboardPublisher.dashboardFinding)
        #expect(shown.map(\.kind) == [.slower, .faster])
        #expect(shown[0].headline == "slower: pass O0/i386 time to pass 80 s → 127 s (+59 %, band ±10 % over 8 runs), fixture 84b01ca77..3c6192ea0")
        #expect(shown[1].headline.hasPrefix("faster: pass O0/i386 time to pass 127 s → 80 s (-37 %"))

        let base = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-perfkinds-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: base) }
        let cell = Fixture.result(127, commit: Fixture.commitB)
        let run = DashboardRun(
            id: "20261201-000000-ffff", matrix: "fixture-run", trigger: "nightly", started: Date(timeIntervalSince1970: 1_796_000_000),
            finished: Date(timeIntervalSince1970: 1_796_000_300), cells: [cell], findings: shown)
        try Dashboard(folder: base.path, title: "t").write(runs: [run])
        let page = try String(contentsOf: base.appendingPathComponent("\(Dashboard.runFolder(run.id))/index.html"), encoding: .utf8)
        #expect(page.contains("<li class=\"k-slower\"><span class=\"kind\">slower</span><b>pass O0/i386 time to pass 80 s → 127 s"))
        #expect(page.contains("<li class=\"k-faster\"><span class=\"kind\">faster</span>"))
        #expect(!page.contains("k-other"))
        #expect(DashboardStyle.css.contains(".findings li.k-slower {") && DashboardStyle.css.contains(".findings li.k-faster {"))

        let chat = RunNotification(run: run).text
        #expect(chat.contains("2 findings: slower: pass O0/i386 time to pass 80 s → 127 s (+59 %"), "\(chat)")
        #expect(slower.text.hasPrefix("[slower] ") && faster.text.hasPrefix("[faster] "), "nestci report's tag")
    }

    @Test("a bisect or triage run's boots of the cell are not in its performance history, so they make no finding")
    func investigationRunsLeftOut() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-perfinv-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ArtifactStore(root: folder.path)
        let fingerprint = await HostProbe.fingerprint()
        let host = String(decoding: try JSONEncoder().encode(fingerprint), as: UTF8.self)
        // Eight quiet nights, then (newer) a bisect's and a triage's boots of the same cell id, far slower.
        let runs: [(trigger: String, seconds: Double)] = Fixture.quiet.map { ("nightly", $0.1) } + [("bisect:b1", 400), ("triage:t1", 410)]
        for (index, run) in runs.enumerated() {
            let id = String(format: "20261101-%06d-abcd", index)
            let result = Fixture.result(run.seconds, commit: Fixture.commitA)
            try await store.beginRun(id: id, matrix: "fixture-run", matrixPath: "m.json", trigger: run.trigger, hostJSON: host, cellIDs: [result.cellID])
            try await store.recordCell(runID: id, result: result)
            if InvestigationRun.isInvestigation(trigger: run.trigger) {
                try await store.finishInvestigationRun(id)
            } else {
                try await store.finishRun(id: id, results: RunResults(runID: id, matrix: "fixture-run", started: Date(), finished: Date(), cells: [result]))
            }
        }
        let cell = Fixture.cell
        let history = try await store.performanceHistory(matrix: "fixture-run", cellID: cell.id, backend: cell.backend)
        #expect(history.count == 8, "\(history.map(\.runID))")
        #expect(history.allSatisfy { $0.result.secondsToVerdict ?? 0 < 100 })

        // Tonight's 81 s is inside the band of the last two nights (79, 81 s): no finding. Had
        // the steps counted, the band would be theirs (400, 410 s) and 81 s would read as faster.
        let tonight = Fixture.result(81, commit: Fixture.commitA)
        let analyzer = PerformanceAnalyzer(
            runID: "20261201-000000-ffff", hostKeys: fingerprint.performanceKeys, cells: [tonight], rules: [cell.id: PerformanceRules(history: 2, minHistory: 2)],
            history: [cell.id: history])
        #expect(analyzer.suspects.isEmpty)
    }
}

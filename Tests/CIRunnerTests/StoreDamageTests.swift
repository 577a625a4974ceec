import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Issue 10 §6: a damaged row or file affects only itself, with a message naming it.
@Suite("Damaged store content")
struct StoreDamageTests {
    /// The store's SQLite file, opened beside the store the way an operator's sqlite3 would.
    func damage(_ fixture: StoreFixture, _ sql: String) throws {
        let database = try Database(path: "\(fixture.root)/nestci.db")
        try database.execute(sql)
    }

    @Test("started = -1e308 in a runs row: runs, show and the dashboard work; the row's time comes from its id, and the message names it")
    func impossibleStart() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        try damage(fixture, "UPDATE runs SET started = -1e308, finished = 1e308 WHERE id = '\(StoreFixture.previousRun)'")

        let runs = await CLITests.run(["runs", "--store", fixture.root])
        #expect(runs.status == 0, "\(runs.err)")
        #expect(runs.out.contains(StoreFixture.previousRun) && runs.out.contains("2025-01-01 02:00:00 UTC"), "\(runs.out)")
        let show = await CLITests.run(["show", StoreFixture.previousRun, "--store", fixture.root])
        #expect(show.status == 0, "\(show.err)")
        #expect(StoreDamage.recent.contains { $0.hasPrefix("runs row \(StoreFixture.previousRun): started = -1e+308 is not a time") })
        #expect(StoreDamage.recent.contains { $0.hasPrefix("runs row \(StoreFixture.previousRun): finished = 1e+308 is not a time") })
        try await DashboardPublisher(store: fixture.store, folder: fixture.directory.path("dashboard")).publish()
        #expect(StoreText.duration(-1e308) == "?" && HTML.duration(.infinity) == "?" && HTML.date(Date(timeIntervalSince1970: -1e308)) == "?")
    }

    @Test("a truncated result_json leaves that cell out, names it, and the next run of the matrix still records and finishes")
    func truncatedResult() async throws {
        let fixture = try StoreFixture()
        try await fixture.writeRun(StoreFixture.previousRun, mainCommit: StoreFixture.oldMainCommit, mainFailsAt: [])
        let cells = try await fixture.store.cells(runID: StoreFixture.previousRun)
        let damaged = try #require(cells.first).cellID
        try damage(fixture, "UPDATE cells SET result_json = substr(result_json, 1, 40) WHERE cell_id = '\(damaged)' AND run_id = '\(StoreFixture.previousRun)'")

        let left = try await fixture.store.cells(runID: StoreFixture.previousRun)
        #expect(left.count == cells.count - 1 && !left.contains { $0.cellID == damaged })
        #expect(StoreDamage.recent.contains {
            $0.hasPrefix("run \(StoreFixture.previousRun), cell \(damaged): its stored result (cells.result_json) is damaged: not valid JSON")
        })
        // The next run compares against the previous one: it must not fail on the damaged row.
        let findings = try await fixture.writeRun(StoreFixture.currentRun, mainCommit: StoreFixture.newMainCommit, mainFailsAt: ["O2"])
        #expect(!findings.isEmpty)
        _ = try await fixture.store.history(matrix: "demo", cellID: damaged)
        let show = await CLITests.run(["show", StoreFixture.previousRun, "--store", fixture.root])
        #expect(show.status == 0, "\(show.err)")
    }

    @Test("a truncated findings.json: report and the dashboard compute that run's findings again and say so; other runs are untouched")
    func truncatedFindings() async throws {
        let fixture = try StoreFixture()
        let expected = try await fixture.fillTwoRuns()
        let file = "\(fixture.store.layout.run(StoreFixture.currentRun))/\(RunLayout.findingsFile)"
        let whole = try Data(contentsOf: URL(fileURLWithPath: file))
        try whole.prefix(100).write(to: URL(fileURLWithPath: file))

        #expect(try await fixture.store.findings(runID: StoreFixture.currentRun).map(\.kind) == expected.map(\.kind))
        #expect(StoreDamage.recent.contains { $0.hasPrefix("\(file) is damaged: not valid JSON") })
        let report = await CLITests.run(["report", StoreFixture.currentRun, "--store", fixture.root])
        #expect(report.status == 0, "\(report.err)")
        let folder = fixture.directory.path("dashboard")
        try await DashboardPublisher(store: fixture.store, folder: folder).publish()
        #expect(FileManager.default.fileExists(atPath: "\(folder)/runs/\(StoreFixture.previousRun)/index.html"))
        #expect(FileManager.default.fileExists(atPath: "\(folder)/runs/\(StoreFixture.currentRun)/index.html"))
    }
}

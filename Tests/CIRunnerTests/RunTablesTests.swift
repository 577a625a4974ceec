import Foundation
import Matrix
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@testable import CIRunner

/// Tables in the matrix's order, JUnit names that tell cells apart, history per matrix, and
/// one progress line per build.
@Suite("Run tables and history")
struct RunTablesTests {
    /// As declared: the baseline, the broken revision, a later fix. Alphabetically it would be
    /// 5af7fe209, good, main.
    static let revs = ["good", "main", "5af7fe209"]

    static func values(_ rev: String, _ opt: String, chain: String = "xmhf-lhv") -> [String: String] {
        ["chain": chain, "rev": rev, "opt": opt, "bits": "i386", "smp": "1", "backend": "bochs"]
    }

    /// Plan order: rev as declared, then opt.
    static func results(matrix: String = "xmhf64-nightly") -> [CellResult] {
        revs.flatMap { rev in
            ["O0", "O3"].map { opt in
                SyntheticCell.result(
                    values: values(rev, opt), outcome: rev == "main" && opt == "O3" ? .fail : .pass, reason: "r", commits: ["xmhf64": rev])
            }
        }
    }

    /// Records `results` into `store` for run `runID`, in reverse (completion order differs
    /// from plan order), then finishes the run.
    static func record(_ results: [CellResult], runID: String, matrix: String, in store: ArtifactStore) async throws {
        let started = StoreFixture.date(runID)
        try await store.beginRun(
            id: runID, matrix: matrix, matrixPath: "/m/\(matrix).json", trigger: "nightly", hostJSON: "{}", cellIDs: results.map(\.cellID),
            started: started)
        for result in results.reversed() { try await store.recordCell(runID: runID, result: result) }
        try await store.finishRun(id: runID, results: RunResults(runID: runID, matrix: matrix, started: started, finished: started, cells: results))
    }

    @Test("the store gives cells in plan order; show and the dashboard grid list rev values as declared, not alphabetically")
    func declaredOrder() async throws {
        let fixture = try StoreFixture()
        try await Self.record(Self.results(), runID: StoreFixture.currentRun, matrix: "xmhf64-nightly", in: fixture.store)
        let cells = try await fixture.store.cells(runID: StoreFixture.currentRun)
        #expect(cells.map(\.cellID) == Self.results().map(\.cellID), "plan order, although recorded in reverse")

        let show = await fixture.nestci(["show", StoreFixture.currentRun])
        let rows = show.out.split(separator: "\n").filter { $0.hasPrefix("xmhf-lhv  1") }.map { $0.split(separator: " ")[3] }
        #expect(rows == ["good", "main", "5af7fe209"])

        let grid = RunGrid(cells)
        #expect(grid.rows.map { $0.extra["rev"]! } == ["good", "main", "5af7fe209"])
        // The order comes from the cells, so a different declaration gives a different order.
        let reversed = RunGrid(Array(cells.reversed()))
        #expect(reversed.rows.map { $0.extra["rev"]! } == ["5af7fe209", "main", "good"])
    }

    @Test("JUnit test cases carry the user axes, so two revisions' cases differ in more than their id, in plan order")
    func junitNames() throws {
        let results = RunResults(runID: "r", matrix: "m", started: Date(), finished: Date(), cells: Self.results())
        let document = try XMLDocument(xmlString: JUnitReport.xml(results))
        let names = try document.nodes(forXPath: "//testcase/@name").compactMap(\.stringValue)
        #expect(names.count == 6)
        #expect(names[0] == "xmhf-lhv O0/i386 bochs smp1 rev=good [\(Cell.id(for: Self.values("good", "O0")))]")
        #expect(names.map { $0.components(separatedBy: " [").first! }.count == Set(names.map { $0.components(separatedBy: " [").first! }).count)
        #expect(names.map { $0.contains("rev=good") ? "good" : $0.contains("rev=main") ? "main" : "5af" } == ["good", "good", "main", "main", "5af", "5af"])
    }

    @Test("a cell's history is per matrix: the store's query and the dashboard's derived history keep matrices apart")
    func historyPerMatrix() async throws {
        let fixture = try StoreFixture()
        try await Self.record(Self.results(), runID: StoreFixture.previousRun, matrix: "other-matrix", in: fixture.store)
        try await Self.record(Self.results(), runID: StoreFixture.currentRun, matrix: "xmhf64-nightly", in: fixture.store)
        let id = Cell.id(for: Self.values("main", "O3"))
        let history = try await fixture.store.history(matrix: "xmhf64-nightly", cellID: id)
        #expect(history.map(\.runID) == [StoreFixture.currentRun])
        // Different matrices: no regression is computed against the other one's run either.
        #expect(try await fixture.store.findings(runID: StoreFixture.currentRun).allSatisfy { $0.kind != .regression && $0.kind != .fix })

        let runs = try await DashboardPublisher(store: fixture.store, folder: fixture.directory.url.path + "/dash").dashboardRuns()
        let derived = DashboardCellHistory.derived(from: runs)
        let entries = try #require(derived[DashboardCellHistory.key(matrix: "xmhf64-nightly", cellID: id)])
        #expect(entries.cellID == id)
        #expect(entries.entries.map(\.runID) == [StoreFixture.currentRun])
        #expect(derived[DashboardCellHistory.key(matrix: "other-matrix", cellID: id)]?.entries.map(\.runID) == [StoreFixture.previousRun])

        // The cell page's history table shows only its matrix's runs.
        let folder = fixture.directory.url.path + "/dash"
        try Dashboard(folder: folder).write(runs: runs)
        let page = try String(contentsOfFile: "\(folder)/runs/\(StoreFixture.currentRun)/\(id)/index.json", encoding: .utf8)
        #expect(page.contains(StoreFixture.currentRun) && !page.contains(StoreFixture.previousRun))
    }

    @Test("'build … passed' is printed once per build, not once per cell that waited for it")
    func buildOnce() {
        let (console, captured) = Console.capturing()
        let progress = RunProgress(console: console)
        progress.handle(.started(runID: "r", cells: 3, builds: 2))
        for _ in 0..<3 { progress.handle(.buildFinished(key: "xmhf64-1234567890", status: "passed", cached: false, seconds: 12)) }
        progress.handle(.buildFinished(key: "lhv-0987654321", status: "passed", cached: false, seconds: 3))
        progress.handle(.buildFinished(key: "lhv-0987654321", status: "passed", cached: false, seconds: 3))
        progress.finish()
        let lines = captured.out.split(separator: "\n")
        #expect(lines.filter { $0.contains("build xmhf64-1234567890: passed") }.count == 1)
        #expect(lines.filter { $0.contains("build lhv-0987654321: passed") }.count == 1)
    }
}

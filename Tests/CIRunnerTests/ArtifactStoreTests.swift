import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// A store with the demo's shape, filled the way the scheduler fills it: cell folders with a
/// serial log holding a VMCS dump, its vmcs.json and a reproduce.sh, then `recordCell`.
/// Two runs of matrix `demo` (rev × O0/O2/O3, i386, Bochs): in the first every cell passes;
/// in the second `rev=main` moved to a new commit that fails at O2 and O3 (link pointer 0).
struct StoreFixture {
    static let previousRun = "20250101-020000-aaaa"
    static let currentRun = "20250102-020000-bbbb"
    static let goodCommit = "1111111111111111111111111111111111111111"
    static let oldMainCommit = "2222222222222222222222222222222222222222"
    static let newMainCommit = "3333333333333333333333333333333333333333"

    let directory: EvidenceTestDirectory
    let store: ArtifactStore
    var root: String { directory.url.path + "/store" }

    init() throws {
        directory = try EvidenceTestDirectory()
        store = try ArtifactStore(root: directory.url.path + "/store")
    }

    static func values(rev: String, opt: String) -> [String: String] {
        ["chain": "minivisor", "rev": rev, "opt": opt, "bits": "i386", "smp": "1", "backend": "bochs"]
    }

    /// Both runs, finished; returns the second run's findings.
    @discardableResult
    func fillTwoRuns() async throws -> [Finding] {
        try await writeRun(Self.previousRun, mainCommit: Self.oldMainCommit, mainFailsAt: [])
        return try await writeRun(Self.currentRun, mainCommit: Self.newMainCommit, mainFailsAt: ["O2", "O3"])
    }

    @discardableResult
    func writeRun(_ runID: String, mainCommit: String, mainFailsAt: Set<String>) async throws -> [Finding] {
        var results: [CellResult] = []
        for rev in ["good", "main"] {
            for opt in ["O0", "O2", "O3"] {
                let fails = rev == "main" && mainFailsAt.contains(opt)
                let commit = rev == "good" ? Self.goodCommit : mainCommit
                results.append(
                    SyntheticCell.result(
                        values: Self.values(rev: rev, opt: opt), outcome: fails ? .fail : .pass,
                        reason: fails ? "CPU(0x00): VMLAUNCH error: VM-instruction error 7" : "minivisor: all 20 rounds passed",
                        line: fails ? 9 : 40, commits: ["minivisor": commit]))
            }
        }
        let started = Self.date(runID)
        try await store.beginRun(
            id: runID, matrix: "demo", matrixPath: "/demo/demo.json", trigger: "nightly", hostJSON: #"{"hostname":"lab1"}"#,
            cellIDs: results.map(\.cellID), started: started)
        for result in results {
            try writeCellFiles(runID: runID, result: result)
            try await store.recordCell(runID: runID, result: result)
        }
        return try await store.finishRun(
            id: runID, results: RunResults(runID: runID, matrix: "demo", started: started, finished: started.addingTimeInterval(754), cells: results))
    }

    /// The files the scheduler writes before `recordCell`.
    func writeCellFiles(runID: String, result: CellResult) throws {
        let folder = RunLayout(store: root).cell(runID, result.cellID)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let link = result.outcome == .pass ? "0xffffffffffffffff" : "0x0000000000000000"
        let failure = result.outcome == .pass ? "" : "CPU(0x00): VMLAUNCH error: VM-instruction error 7\n"
        let serial = "\(folder)/\(RunLayout.serialLog)"
        try AtomicFile.write(SyntheticCell.vmcsText(linkPointer: link, extra: failure), to: serial)
        try AtomicFile.write(try VMCSDumpParser.parse(contentsOf: serial).jsonData(), to: "\(folder)/\(RunLayout.vmcsFile)")
        try AtomicFile.write("#!/bin/sh\n# reproduce \(result.cellID)\n", to: "\(folder)/\(RunLayout.reproduceScript)")
    }

    static func date(_ runID: String) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.date(from: String(runID.prefix(15)))!
    }

    /// Runs `nestci` in-process with `--store` pointing here.
    func nestci(_ arguments: [String]) async -> (status: Int32, out: String, err: String) {
        let (console, captured) = Console.capturing()
        let status = await NestCI.main(arguments + ["--store", root], console: console)
        return (status, captured.out, captured.err)
    }

    /// Every indexed artifact exists with its recorded size, and every cell row has its result.json.
    func checkConsistent() async throws { try await Self.checkConsistent(store) }

    static func checkConsistent(_ store: ArtifactStore) async throws {
        for run in try await store.runs(limit: 1000) {
            for artifact in try await store.artifacts(runID: run.id) {
                let path = "\(store.layout.run(run.id))/\(artifact.path)"
                #expect(StoreFiles.isRegularFile(path), "indexed artifact \(path) is missing")
                #expect(try StoreFiles.digest(path).bytes == artifact.bytes, "\(path) changed size after indexing")
            }
            for cell in try await store.cells(runID: run.id) {
                let file = "\(store.layout.cell(run.id, cell.cellID))/\(RunLayout.resultFile)"
                #expect(try StoreFiles.decode(CellResult.self, file: file) == cell, "result.json of \(cell.cellID) disagrees with its row")
            }
        }
    }
}

@Suite("Artifact store")
struct ArtifactStoreTests {
    @Test("a real SQLite file in WAL mode, migrated once, reopened without change")
    func walAndMigrations() async throws {
        let fixture = try StoreFixture()
        let database = try Database(path: fixture.store.layout.database)
        #expect(try database.query("PRAGMA journal_mode").first?[0].string == "wal")
        #expect(try database.userVersion() == StoreSchema.migrations.count)
        let again = try ArtifactStore(root: fixture.root)
        #expect(try await again.runs().isEmpty)
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/nestci.db-wal"))
    }

    @Test("run ids are UTC time plus 4 hex digits and sort by start time")
    func runIDs() {
        let id = ArtifactStore.newRunID(now: Date(timeIntervalSince1970: 1_735_696_805))  // 2025-01-01 02:00:05 UTC
        #expect(id.hasPrefix("20250101-020005-"))
        #expect(id.count == 20 && id.suffix(4).allSatisfy(\.isHexDigit))
        #expect(ArtifactStore.newRunID(now: Date(timeIntervalSince1970: 1_735_696_806)) > id)
    }

    @Test("beginRun writes run.json and a running row; finishRun writes results and findings and marks it finished")
    func lifecycle() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let runFolder = fixture.store.layout.run(StoreFixture.currentRun)
        for file in [RunLayout.runFile, RunLayout.resultsFile, RunLayout.findingsFile] {
            #expect(StoreFiles.isRegularFile("\(runFolder)/\(file)"))
        }
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runFolder)/run.json"))) as? [String: Any])
        #expect((manifest["host"] as? [String: Any])?["hostname"] as? String == "lab1")
        let run = try #require(try await fixture.store.run(StoreFixture.currentRun))
        #expect(run.status == .finished && run.counts == ["PASS": 4, "FAIL": 2] && run.plannedCells == 6)
        #expect(run.findingCount == 4)
        let runs = try await fixture.store.runs(limit: 10, matrix: "demo")
        #expect(runs.map(\.id) == [StoreFixture.currentRun, StoreFixture.previousRun])
        #expect(try await fixture.store.runs(matrix: "other").isEmpty)
        #expect(try await fixture.store.previousRun(matrix: "demo", before: StoreFixture.currentRun)?.id == StoreFixture.previousRun)
        #expect(try await fixture.store.commits(runID: StoreFixture.currentRun)["minivisor"] == [StoreFixture.goodCommit, StoreFixture.newMainCommit])
        let o3 = Cell.id(for: StoreFixture.values(rev: "main", opt: "O3"))
        let history = try await fixture.store.history(matrix: "demo", cellID: o3, limit: 10)
        #expect(history.map(\.result.outcome) == [.fail, .pass])
        #expect(history.first?.runID == StoreFixture.currentRun)
        try await fixture.checkConsistent()
    }

    @Test("recording the same cell twice replaces its row and artifacts instead of duplicating them")
    func recordTwice() async throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let runID = ArtifactStore.newRunID()
        let first = SyntheticCell.result(values: StoreFixture.values(rev: "main", opt: "O3"), outcome: .fail, reason: "first boot")
        try await store.beginRun(id: runID, matrix: "demo", matrixPath: "m.json", trigger: "test", hostJSON: "{}", cellIDs: [first.cellID])
        try fixture.writeCellFiles(runID: runID, result: first)
        try await store.recordCell(runID: runID, result: first)
        var second = first
        second.outcome = .flaky
        second.reason = "failed, then passed on a re-run"
        try await store.recordCell(runID: runID, result: second)
        #expect(try await store.cells(runID: runID) == [second])
        let database = try Database(path: store.layout.database)
        #expect(try database.query("SELECT COUNT(*) FROM cells").first?[0].int64 == 1)
        let paths = try await store.artifacts(runID: runID).map(\.path)
        #expect(paths.count == Set(paths).count)
        #expect(paths.sorted() == ["serial.log", "vmcs.json", "result.json", "reproduce.sh"].map { "\(first.cellID)/\($0)" }.sorted())
        #expect(try await store.run(runID)?.counts == ["FLAKY": 1])
        try await fixture.checkConsistent()
    }

    @Test("ids that could leave the store are refused before anything is written")
    func unsafeIDs() async throws {
        let fixture = try StoreFixture()
        await #expect(throws: StoreError.self) {
            try await fixture.store.beginRun(id: "../escape", matrix: "m", matrixPath: "m", trigger: "t", hostJSON: "{}", cellIDs: [])
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.url.path + "/escape"))
        await #expect(throws: StoreError.self) {
            try await fixture.store.recordCell(runID: "nope", result: SyntheticCell.result(values: ["opt": "O0"], outcome: .pass))
        }
    }

    @Test("a run marked interrupted keeps its recorded cells and gets a results.json")
    func interrupted() async throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let runID = ArtifactStore.newRunID()
        let cell = SyntheticCell.result(values: StoreFixture.values(rev: "good", opt: "O0"), outcome: .pass)
        try await store.beginRun(id: runID, matrix: "demo", matrixPath: "m.json", trigger: "test", hostJSON: "{}", cellIDs: [cell.cellID, "other"])
        try fixture.writeCellFiles(runID: runID, result: cell)
        try await store.recordCell(runID: runID, result: cell)
        // This process is alive, so its own run is running, not interrupted.
        #expect(try await store.run(runID)?.status == .running)
        #expect(try await store.interruptedRuns().isEmpty)
        try await store.markInterrupted(runID)
        let run = try #require(try await store.run(runID))
        #expect(run.status == .interrupted && run.recordedCells == 1 && run.plannedCells == 2)
        let results = try StoreFiles.decode(RunResults.self, file: "\(store.layout.run(runID))/results.json")
        #expect(results.cells == [cell])
        try await fixture.checkConsistent()
    }

    @Test("recordBuild indexes a build record by cache key")
    func builds() async throws {
        let fixture = try StoreFixture()
        let json = """
            {"status":"failed","specKey":"spec1","cacheKey":"cache1","component":"xmhf64","repository":"r","revision":"xmhf64",
             "commit":"84b01ca77","opt":"O3","bits":"i386","command":"make","jobs":2,
             "toolchain":{"command":"gcc","family":"gcc","version":"12.2","target":"x86_64-linux-gnu","versionLine":"gcc 12.2","versionOutputSHA256":"00"},"optFlags":"-O3","workarounds":[],
             "workaroundsDisabled":true,"outputs":[],"logFile":"build.log","logTruncated":false,"errorLines":[],
             "startedAt":"2025-01-01T02:00:00Z","durationSeconds":12.5}
            """
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let record = try? decoder.decode(BuildRecord.self, from: Data(json.utf8)) else {
            Issue.record("BuildRecord's JSON shape changed; update this fixture")
            return
        }
        try await fixture.store.recordBuild(record)
        try await fixture.store.recordBuild(record)
        let rows = try Database(path: fixture.store.layout.database).query("SELECT * FROM builds")
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(try row.string("status") == "failed")
        #expect(try row.string("record_path") == "builds/cache1/record.json")
    }

    @Test("a too-large serial log keeps head and tail at line boundaries and says how much was cut")
    func capSerialLog() throws {
        let directory = try EvidenceTestDirectory()
        let path = directory.path("serial.log")
        let lines = (1...20_000).map { String(format: "CPU(0x00): line %05d of a hypervisor that would not stop printing", $0) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let original = try Data(contentsOf: URL(fileURLWithPath: path)).count
        let cut = try SerialLogCapper.cap(path: path, limit: 64 << 10)
        let capped = try String(contentsOfFile: path, encoding: .utf8)
        #expect(cut > 0 && capped.utf8.count < (64 << 10) + 100)
        #expect(capped.hasPrefix(lines[0]) && capped.hasSuffix(lines.last! + "\n"))
        let marker = "[... \(cut) bytes cut by nestci ...]"
        #expect(capped.contains("\n\(marker)\n"))
        #expect(capped.utf8.count == original - cut + marker.utf8.count + 1)
        // Every kept line is whole.
        #expect(capped.split(separator: "\n").allSatisfy { $0.hasPrefix("CPU(0x00): line ") || $0 == marker })
        #expect(try SerialLogCapper.cap(path: path, limit: 1 << 20) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).count == 1)
    }

    @Test(
        "store references refuse to leave the store",
        arguments: ["..", "../x", "run/..", "/etc/passwd", "run/cell/extra", "run/.hidden", "run/cell#0", "run/cell#x", "a b"])
    func badReferences(text: String) {
        let error = #expect(throws: StoreError.self) { try StoreReference.parse(text) }
        #expect(error?.code == .badReference)
        #expect(NestCI.exitStatus(for: error!) == .usage, "the CLI maps a bad reference to a usage error")
    }

    @Test("store references: RUN, RUN/CELL, RUN/CELL#n")
    func goodReferences() throws {
        #expect(try StoreReference.parse("20250101-020000-aaaa") == StoreReference(runID: "20250101-020000-aaaa"))
        #expect(try StoreReference.parse("r/c") == StoreReference(runID: "r", cellID: "c"))
        #expect(try StoreReference.parse("r/c#2") == StoreReference(runID: "r", cellID: "c", dumpNumber: 2))
    }

    @Test("benchmark: listing 10,000 runs")
    func benchmark() async throws {
        let result = try await StoreBenchmark.measure()
        print(result.description)
        #expect(result.listedRuns == 10_000)
        // The 100 ms target is for release builds; a debug build gets ten times the room.
        #expect(result.listSeconds < 10, "lists; the < 100 ms figure is `nestci bench store`'s")
    }
}

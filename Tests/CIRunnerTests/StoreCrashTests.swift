import Foundation
import Hypervisor
import Testing

@testable import CIRunner

/// A nestci process killed with SIGKILL while it writes a run must leave a store that opens,
/// is consistent, and keeps every cell recorded before the kill.
@Suite("Store crash safety")
struct StoreCrashTests {
    /// The `nestci` executable built beside this test bundle (`.build*/debug/nestci`), or
    /// `$NESTCI_BINARY`.
    static let nestciBinary: String? = {
        if let override = ProcessInfo.processInfo.environment["NESTCI_BINARY"] { return override }
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On some layouts the test binary sits inside the .xctest bundle folder.
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        let candidate = folder.appendingPathComponent("nestci").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    @Test(
        "SIGKILL in the middle of a run: the store opens, is consistent, and the finished cells are all there",
        .enabled(if: nestciBinary != nil, "needs the nestci executable beside the test bundle (swift build first) or NESTCI_BINARY"))
    func killedWriter() async throws {
        let directory = try EvidenceTestDirectory()
        let root = directory.path("store")
        let process = try SupervisedProcess(
            ProcessSpec(Self.nestciBinary!, ["__store-stress", root, "500", "--delay-ms", "3"], timeout: .seconds(120)))
        // Watch the index from this process (WAL lets us read while it writes) until some cells are in.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        var recordedBeforeKill = 0
        while clock.now < deadline {
            if FileManager.default.fileExists(atPath: root + "/nestci.db"),
                let database = try? Database(path: root + "/nestci.db"),
                let count = try? database.query("SELECT COUNT(*) FROM cells").first?[0].int64
            {
                recordedBeforeKill = Int(count)
                if recordedBeforeKill >= 6 { break }
            }
            try await Task.sleep(for: .milliseconds(15))
        }
        #expect(recordedBeforeKill >= 6, "the stress writer recorded only \(recordedBeforeKill) cells in 60 s")
        // Land somewhere inside the next cell's writes.
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
        kill(process.pid, SIGKILL)
        let ended = await process.wait()
        #expect(ended.termination == .signalled(SIGKILL), "the writer ended on its own: \(ended.summary) \(ended.output)")

        let store = try ArtifactStore(root: root)
        let integrity = try Database(path: root + "/nestci.db").query("PRAGMA integrity_check").first?[0].string
        #expect(integrity == "ok")
        let runs = try await store.runs()
        let run = try #require(runs.first)
        #expect(runs.count == 1)
        #expect(run.status == .interrupted && run.storedStatus == .running)
        #expect(try await store.interruptedRuns().map(\.id) == [run.id])
        let cells = try await store.cells(runID: run.id)
        #expect(cells.count >= recordedBeforeKill && cells.count < 500)
        #expect(run.recordedCells == cells.count)
        try await StoreFixture.checkConsistent(store)
        for cell in cells {
            let folder = store.layout.cell(run.id, cell.cellID)
            for file in [RunLayout.serialLog, RunLayout.vmcsFile, RunLayout.verdictFile, RunLayout.reproduceScript] {
                #expect(StoreFiles.isRegularFile("\(folder)/\(file)"), "\(cell.cellID) lacks \(file)")
            }
        }

        try await store.markInterrupted(run.id)
        #expect(try await store.run(run.id)?.status == .interrupted)
        #expect(try await store.interruptedRuns().isEmpty)
        let results = try StoreFiles.decode(RunResults.self, file: "\(store.layout.run(run.id))/results.json")
        #expect(results.cells == cells)
        // The commands work on it.
        let (console, captured) = Console.capturing()
        let status = await NestCI.main(["show", run.id, "--store", root], console: console)
        #expect(status == 1 && captured.out.contains("interrupted"))
        try await StoreFixture.checkConsistent(store)
    }
}

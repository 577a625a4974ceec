import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

@Suite("Store commands: fetch")
struct FetchTests {
    static let failedO3 = Cell.id(for: StoreFixture.values(rev: "main", opt: "O3"))
    static let failedO2 = Cell.id(for: StoreFixture.values(rev: "main", opt: "O2"))

    @Test("fetch RUN/CELL copies the cell's files into ./nestci-fetch/RUN/CELL or --to DIR")
    func fetchCell() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let target = fixture.directory.path("out")
        let result = await fixture.nestci(["fetch", "\(StoreFixture.currentRun)/\(Self.failedO3)", "--to", target])
        #expect(result.status == 0)
        #expect(result.out.hasPrefix("fetched 4 files"))
        let names = try FileManager.default.contentsOfDirectory(atPath: target).sorted()
        #expect(names == ["reproduce.sh", "result.json", "serial.log", "vmcs.json"])
        let source = fixture.store.layout.cell(StoreFixture.currentRun, Self.failedO3) + "/serial.log"
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: target + "/serial.log"))
    }

    @Test("fetch RUN --failed copies the run's files, the failed cells, and the passing cells their findings compare against")
    func fetchFailed() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let target = fixture.directory.path("failed")
        let result = await fixture.nestci(["fetch", StoreFixture.currentRun, "--failed", "--to", target])
        #expect(result.status == 0)
        let top = try FileManager.default.contentsOfDirectory(atPath: target).sorted()
        // The passing side of each finding: this run's cells beside the failed ones, the
        // previous run's (a regression) under its run id.
        let findings = try await fixture.store.findings(runID: StoreFixture.currentRun)
        let passing = Set(findings.flatMap(\.verdicts).filter { !$0.outcome.isFailure }.map { $0.runID == StoreFixture.currentRun ? $0.cellID : $0.runID })
        #expect(passing.contains(StoreFixture.previousRun) && passing.count >= 2, "\(passing)")
        #expect(top == ([Self.failedO2, Self.failedO3, "findings.json", "results.json", "run.json"] + passing).sorted())
        let good = Cell.id(for: StoreFixture.values(rev: "good", opt: "O0"))
        #expect(!top.contains(good), "a passing cell no finding names stays out")
        #expect(result.out.contains("\(Self.failedO3)/serial.log"))
        let none = await fixture.nestci(["fetch", StoreFixture.previousRun, "--failed", "--to", fixture.directory.path("none")])
        #expect(none.status == 0 && none.out.contains("no failed cells"))
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path("none")))
    }

    @Test("fetch --bundle writes one tar.gz that tar lists, with the store's layout inside")
    func bundle() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let folder = fixture.directory.path("bundles")
        let result = await fixture.nestci(["fetch", StoreFixture.currentRun, "--failed", "--bundle", "--to", folder])
        #expect(result.status == 0, "\(result.err)")
        let bundle = "\(folder)/\(StoreFixture.currentRun)-failed.tar.gz"
        #expect(result.out.contains(bundle))
        let listing = try await SupervisedProcess.run(ProcessSpec("tar", ["tzf", bundle], timeout: .seconds(60)))
        #expect(listing.succeeded)
        let entries = Set(listing.output.split(separator: "\n").map(String.init))
        #expect(entries.contains("\(StoreFixture.currentRun)/\(Self.failedO3)/vmcs.json"))
        #expect(entries.contains("\(StoreFixture.currentRun)/findings.json"))
        #expect(!entries.contains { $0.contains(Cell.id(for: StoreFixture.values(rev: "good", opt: "O0"))) })
        #expect(!FileManager.default.fileExists(atPath: bundle + ".partial"))
    }

    @Test("references that leave the store, or name nothing, are refused with a clear error", arguments: [
        ("../../etc", 64, "leave the store"), ("/etc/passwd", 64, "absolute path"), ("RUN/../x", 64, "leave the store"),
        ("20250102-020000-bbbb/nocell", 1, "has no recorded cell nocell"), ("19990101-000000-0000", 1, "no run 19990101-000000-0000"),
    ])
    func refused(reference: String, status: Int32, message: String) async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let result = await fixture.nestci(["fetch", reference, "--to", fixture.directory.path("x")])
        #expect(result.status == status)
        #expect(result.err.contains(message), "\(result.err)")
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path("x")))
    }

    @Test("a cell folder replaced by a symbolic link out of the store is refused; a linked file is skipped")
    func symlinks() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let outside = fixture.directory.path("secret")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "secret\n".write(toFile: outside + "/serial.log", atomically: true, encoding: .utf8)
        // A linked file inside a real cell folder: not copied.
        let cellFolder = fixture.store.layout.cell(StoreFixture.currentRun, Self.failedO2)
        try FileManager.default.createSymbolicLink(atPath: cellFolder + "/passwd", withDestinationPath: outside + "/serial.log")
        let target = fixture.directory.path("o2")
        let copied = await fixture.nestci(["fetch", "\(StoreFixture.currentRun)/\(Self.failedO2)", "--to", target])
        #expect(copied.status == 0)
        #expect(!FileManager.default.fileExists(atPath: target + "/passwd"))
        // A cell folder that is a link out of the store: refused.
        let o3Folder = fixture.store.layout.cell(StoreFixture.currentRun, Self.failedO3)
        try FileManager.default.removeItem(atPath: o3Folder)
        try FileManager.default.createSymbolicLink(atPath: o3Folder, withDestinationPath: outside)
        let refused = await fixture.nestci(["fetch", "\(StoreFixture.currentRun)/\(Self.failedO3)", "--to", fixture.directory.path("o3")])
        #expect(refused.status == 64 && refused.err.contains("symbolic link"))
        let whole = await fixture.nestci(["fetch", StoreFixture.currentRun, "--to", fixture.directory.path("all")])
        #expect(whole.status == 0 && !whole.out.contains(Self.failedO3))
    }
}

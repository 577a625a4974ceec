import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Stopped is not failed: a cell torn down by SIGINT/SIGTERM, `nestci cancel` or a service
/// stop is not recorded (never BUILD-FAIL "killed by signal 15" nor INFRA "not starting"),
/// is never the previous run of a regression, and cancelling a run kills its builds.
@Suite("Torn-down cells")
struct TornDownTests {
    @Test("an interrupted run is never the previous run: the regression is measured against the last finished one")
    func interruptedRunIsNotPrevious() async throws {
        let fixture = try StoreFixture()
        try await fixture.writeRun(StoreFixture.previousRun, mainCommit: StoreFixture.oldMainCommit, mainFailsAt: [])
        // A run in between, cancelled after one cell: main O2 failed there, so were it the
        // previous run, the same failure now would be no regression.
        let cancelled = "20250101-120000-cccc"
        let failing = SyntheticCell.result(
            values: StoreFixture.values(rev: "main", opt: "O2"), outcome: .fail, reason: "CPU(0x00): VMLAUNCH error",
            commits: ["minivisor": StoreFixture.newMainCommit])
        try await fixture.store.beginRun(
            id: cancelled, matrix: "demo", matrixPath: "/demo/demo.json", trigger: "nightly", hostJSON: "{}", cellIDs: [failing.cellID],
            started: StoreFixture.date(cancelled))
        try fixture.writeCellFiles(runID: cancelled, result: failing)
        try await fixture.store.recordCell(runID: cancelled, result: failing)
        try await fixture.store.markInterrupted(cancelled)

        let findings = try await fixture.writeRun(StoreFixture.currentRun, mainCommit: StoreFixture.newMainCommit, mainFailsAt: ["O2"])
        let regressions = findings.filter { $0.kind == .regression }
        #expect(regressions.count == 1 && regressions.first?.title.contains("passed in \(StoreFixture.previousRun)") == true, "\(findings.map(\.title))")
        #expect(try await fixture.store.previousRun(matrix: "demo", before: StoreFixture.currentRun)?.id == StoreFixture.previousRun)
    }

    @Test("exit status: 0 all passed or skipped, 75 only INFRA failures, 1 when the hypervisor failed")
    func exitStatus() {
        func results(_ outcomes: [Outcome]) -> RunResults {
            let cells = outcomes.enumerated().map { index, outcome in
                SyntheticCell.result(values: ["chain": "c\(index)", "opt": "O0", "bits": "i386"], outcome: outcome)
            }
            return RunResults(runID: "r", matrix: "m", started: Date(), finished: Date(), cells: cells)
        }
        #expect(RunCommand.exitStatus(results([.pass, .skip])) == .success)
        #expect(RunCommand.exitStatus(results([.pass, .infra, .infra])) == .tempFail)
        #expect(ExitStatus.tempFail.rawValue == 75)
        for hypervisorFailure in [Outcome.fail, .timeout, .buildFail, .flaky] {
            #expect(RunCommand.exitStatus(results([.infra, hypervisorFailure])) == .failure)
        }
    }

    @Test("nestci run exits 75 when its only failure is INFRA (a missing disk image)")
    func runExitsTempFail() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-tempfail-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let matrix = """
            {"name": "infra-only",
             "components": {"img": {"kind": "image", "path": "\(folder)/missing.img", "bits": "i386"}},
             "chains": {"c": {"levels": [{"component": "img"}], "verdict": {"pass": ["PASS"]}, "timeouts": {"boot": 30}}},
             "axes": {"chain": ["c"], "opt": ["O0"], "bits": ["i386"], "backend": ["qemu-tcg"]}}
            """
        try matrix.write(toFile: "\(folder)/m.json", atomically: true, encoding: .utf8)
        let (console, output) = Console.capturing()
        let status = await NestCI.main(["run", "\(folder)/m.json", "--store", "\(folder)/store"], console: console)
        #expect(status == 75, "\(output.out) \(output.err)")
        #expect(output.out.contains("1 INFRA"))
    }

    @Test("nestci help documents every exit status")
    func helpDocumentsExitStatus() async {
        let (console, output) = Console.capturing()
        #expect(await NestCI.main(["--help"], console: console) == 0)
        for status in ["0 ok", "1 a cell or build failed", "64 usage", "65 bad matrix", "75 (run) only INFRA", "130/143"] {
            #expect(output.out.contains(status), "\(status)")
        }
        let (runConsole, runOutput) = Console.capturing()
        _ = await NestCI.main(["help", "run"], console: runConsole)
        #expect(runOutput.out.contains("75 (EX_TEMPFAIL)"))
    }
}

extension RealProcessSuite {
/// The same, with real builds and boots.
@Suite("Torn-down cells, for real", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
struct TornDownRunTests {
    static func recordedCells(_ fixture: FixtureMatrix) async throws -> [CellResult] {
        let store = try ArtifactStore(root: fixture.store)
        var cells: [CellResult] = []
        for run in try await store.runs() { cells += try await store.cells(runID: run.id) }
        return cells
    }

    static func publishedBuilds(_ fixture: FixtureMatrix) -> [String] {
        let builds = "\(fixture.store)/builds"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: builds)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: "\(builds)/\($0)/record.json") }
    }

    @Test("SIGINT/SIGTERM during builds: exit 128+N, no cell recorded, no build cached as failed", arguments: [SIGINT, SIGTERM])
    func signalDuringBuilds(signal: Int32) async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try KillTests.hangingBuilds(fixture)
        let nestci = try KillTests.run(fixture)
        try #require(try await KillTests.waitFor(3) { KillTests.sleepers(fixture) } >= 3, "the builds should be running")
        kill(nestci.pid, signal)
        let result = await nestci.wait()
        #expect(result.termination == .exited(128 + signal), "\(result.output.suffix(600))")
        let cells = try await Self.recordedCells(fixture)
        #expect(cells.isEmpty, "torn-down cells are not recorded: \(cells.map { "\($0.outcome.rawValue) \($0.reason)" })")
        #expect(Self.publishedBuilds(fixture).isEmpty, "a killed build is not cached")
        #expect(!result.output.contains("killed by signal"), "\(result.output.suffix(600))")
        try await Task.sleep(for: .seconds(1))
        #expect(RunProcesses.of(owner: nestci.pid, folder: fixture.folder).isEmpty)
    }

    @Test("SIGTERM during boots: no cell recorded as FAIL or INFRA")
    func signalDuringBoots() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try KillTests.hangingBoots(fixture)
        let nestci = try KillTests.run(fixture)
        // Every hanging cell is booting; the rest may have finished and are genuine.
        try #require(try await KillTests.waitFor(2) { EmulatorProcesses.matching(fixture.folder).count } >= 2)
        kill(nestci.pid, SIGTERM)
        let result = await nestci.wait()
        #expect(result.termination == .exited(128 + SIGTERM))
        let cells = try await Self.recordedCells(fixture)
        #expect(!cells.contains { $0.chain == "pass" }, "hanging cells were torn down, not judged: \(cells.map { "\($0.chain) \($0.outcome.rawValue) \($0.reason)" })")
        #expect(!cells.contains { $0.outcome == .infra || $0.reason.contains("shutting down") })
    }

    @Test("cancelling a run kills its builds within 2 s and records nothing")
    func cancelKillsBuilds() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try KillTests.hangingBuilds(fixture)
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let scheduler = RunScheduler(options: RunOptions(store: fixture.store, slots: 2))
        let run = Task { try await scheduler.run(plan, matrixPath: fixture.matrix) }
        try #require(try await KillTests.waitFor(3) { KillTests.sleepers(fixture) } >= 3, "the builds should be running")
        let cancelled = ContinuousClock.now
        run.cancel()
        let gone = try await KillTests.waitFor(1, seconds: 10) { KillTests.sleepers(fixture) == 0 ? 1 : 0 }
        let took = ContinuousClock.now - cancelled
        print("[cancel] builds gone \(took) after the run's task was cancelled")
        #expect(gone == 1 && took < .seconds(2), "builds still running \(took) after cancel")
        await #expect(throws: CancellationError.self) { _ = try await run.value }
        #expect(try await Self.recordedCells(fixture).isEmpty)
        #expect(Self.publishedBuilds(fixture).isEmpty)
    }

    @Test("nestci cancel of a service's run kills its builds within 2 s of the service seeing it; the run is cancelled, nothing recorded")
    func serviceCancelKillsBuilds() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try KillTests.hangingBuilds(fixture)
        let config = try ServiceTests.config(fixture, watch: false, slots: 1)
        _ = await ServiceTests.cli(["trigger", fixture.matrix, "--store", fixture.store, "--reason", "cancel test"])
        let service = try ServiceTests.serve(fixture, config: config)
        defer { service.stop() }
        try #require(try await KillTests.waitFor(3) { KillTests.sleepers(fixture) } >= 3, "the service's run should be building")
        let store = try ArtifactStore(root: fixture.store)
        let runID = try #require(try await store.runs().first?.id)
        let cancelled = ContinuousClock.now
        let (status, output) = await ServiceTests.cli(["cancel", runID, "--store", fixture.store])
        #expect(status == 0, "\(output)")
        _ = try await KillTests.waitFor(1, seconds: 10) { KillTests.sleepers(fixture) == 0 ? 1 : 0 }
        let took = ContinuousClock.now - cancelled
        print("[cancel] builds gone \(took) after nestci cancel")
        // The service looks at cancel requests once a tick (0.5 s).
        #expect(took < .milliseconds(2500), "builds still running \(took) after nestci cancel")
        try await ServiceTests.waitFor("the queue entry to be cancelled", seconds: 30) { try await store.queue().first?.state == .cancelled }
        #expect(try await Self.recordedCells(fixture).isEmpty)
        kill(service.pid, SIGTERM)
        _ = await service.wait()
    }
}
}

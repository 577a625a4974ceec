import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Issue 12, review follow-ups: investigations and the processes beside them on one store.
/// A bisect `nestci bisect` recorded counts as bisected for the service; a `nestci run`
/// beside the service holds its jobs back; nothing that resumes or marks interrupted runs
/// touches an investigation's run another live process writes. Real store, real child
/// processes standing for "another nestci" (a live one, and one that has exited).
@Suite("Investigation ownership", .serialized)
struct InvestigationOwnershipTests {
    typealias Service = InvestigationServiceTests

    static func tempStore() throws -> (String, ArtifactStore) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-ownership-\(UUID().uuidString)").path
        return (root, try ArtifactStore(root: root))
    }

    /// A process that stays alive until stopped, and the pid of one that has exited.
    static func processes() async throws -> (live: SupervisedProcess, deadPID: Int32) {
        let live = try SupervisedProcess(ProcessSpec("sleep", ["300"], timeout: .seconds(300)))
        let dead = try SupervisedProcess(ProcessSpec("true"))
        _ = await dead.wait()
        return (live, dead.pid)
    }

    /// Makes `pid` (this host) the writer of a row, as if another nestci wrote it.
    static func setWriter(_ root: String, table: String, id: String, pid: Int32) throws {
        try Database(path: root + "/nestci.db").execute("UPDATE \(table) SET writer_pid = ? WHERE id = ?", [SQLValue(Int(pid)), .text(id)])
    }

    /// The investigation service on `store` with a runner that waits until cancelled,
    /// past its first scan.
    static func startService(_ store: ArtifactStore) async throws -> (Task<Void, Never>, Service.Runner) {
        let runner = Service.Runner()
        let service = InvestigationService(
            store: store, matrices: [Service.entry], logger: .discarding, tick: .milliseconds(20), runBisect: runner.body,
            runTriage: { _, _ in "no triage here" })
        let task = Task { await service.run() }
        try await Service.until("the first scan", timeout: .seconds(60)) { try await store.serviceValue(InvestigationService.scannedKey) != nil }
        return (task, runner)
    }

    static let signature = FailureSignature(outcome: .fail, rule: "fail:halt", line: FailureSignature.normalise("CPU(0x00): HALT! at 0x1000"))

    /// A bisect of the fixture cell over `hv a<day>..b<day>` as `nestci bisect` records it.
    static func record(day: Int, status: BisectRecord.Status, runID: String = "20261130-0000-manual") throws -> BisectRecord {
        BisectRecord(
            id: "bmanual\(day)", runID: runID, cellID: try DashboardFixture.cells()[0].id, matrix: "m", level: 0, component: "hv",
            good: "a\(day)", bad: "b\(day)", signature: signature, bootsPerStep: 1, bootsReason: "--runs 1", investigationRunID: "",
            status: status, steps: [], culprit: nil, builds: 0, cachedBuilds: 0, boots: 0, minutes: 0, confidence: nil, notes: [],
            started: Date(), finished: nil)
    }

    @Test("a bisect's record answers a job of the same signature and range (commits by prefix), not another")
    func covers() throws {
        var record = try Self.record(day: 1, status: .finished)
        record.good = "a1f00d"
        #expect(record.covers(signature: Self.signature.description, range: "hv a1..b1"))
        #expect(record.covers(signature: Self.signature.description, range: "other x..y, hv a1f00d..b1"))
        #expect(!record.covers(signature: Self.signature.description, range: "hv a2..b1"), "another good commit")
        #expect(!record.covers(signature: Self.signature.description, range: "hvx a1..b1"), "another component")
        #expect(!record.covers(signature: "FAIL fail:halt \"triple fault\"", range: "hv a1..b1"), "another signature")
        #expect(!record.covers(signature: Self.signature.description, range: ""), "an -O-only finding's empty range")
    }

    @Test("the service does not queue a bisect `nestci bisect` finished or is running in a live process; it does one a dead process left running")
    func manualBisectCounts() async throws {
        let (root, store) = try Self.tempStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (live, deadPID) = try await Self.processes()
        defer { live.stop() }
        let (task, _) = try await Self.startService(store)

        try await store.saveBisect(try Self.record(day: 1, status: .finished))
        try await store.saveBisect(try Self.record(day: 2, status: .running))
        try Self.setWriter(root, table: "bisects", id: "bmanual2", pid: live.pid)
        try await store.saveBisect(try Self.record(day: 3, status: .running))
        try Self.setWriter(root, table: "bisects", id: "bmanual3", pid: deadPID)
        // A cancelled one (asking again continues it) is not a bisect done either.
        try await store.saveBisect(try Self.record(day: 4, status: .cancelled))
        var last = ""
        for day in 1...4 { last = try await Service.regress(store, day: day, reason: "CPU(0x00): HALT! at 0x1000") }
        try await Service.until("the runs scanned", timeout: .seconds(60)) { try await store.serviceValue(InvestigationService.scannedKey) == last }

        let ranges = try await store.jobs().map(\.range).sorted()
        #expect(ranges == ["hv a3..b3", "hv a4..b4"], "days 1 (finished) and 2 (running, live) are bisected already")
        task.cancel()
        await task.value
        live.stop()
        _ = await live.wait()
    }

    @Test("a `nestci run` going beside the service on its store stops the job and holds it back until the run's process is gone")
    func yieldsToPlainRun() async throws {
        let (root, store) = try Self.tempStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (live, _) = try await Self.processes()
        defer { live.stop() }
        let (task, runner) = try await Self.startService(store)
        _ = try await Service.regress(store, day: 1, reason: "CPU(0x00): HALT! at 0x1000")
        try await Service.until("job 1 running", timeout: .seconds(60)) { runner.calls.withLock { $0.count } == 1 }
        let job = try #require(try await store.jobs().first)

        // Another nestci starts `nestci run` on the store: not in the queue, running all the same.
        let plain = "20261202-0300-plain"
        try await store.beginRun(id: plain, matrix: "m", matrixPath: "/m.json", trigger: "cli", hostJSON: "{}", cellIDs: ["x"])
        try Self.setWriter(root, table: "runs", id: plain, pid: live.pid)
        // An investigation's own run (another bisect's steps) is no reason to wait.
        try await store.beginRun(id: "20261202-0301-steps", matrix: "m", matrixPath: "/m.json", trigger: "bisect:bother", hostJSON: "{}", cellIDs: [])
        try Self.setWriter(root, table: "runs", id: "20261202-0301-steps", pid: live.pid)
        #expect(try await store.liveRuns().map(\.id) == [plain])
        try await Service.until("job 1 yielding", timeout: .seconds(60)) { try await store.job(job.id)?.state == .queued }
        #expect(try await store.job(job.id)?.message == "paused for a run; resumes after it")
        try await Task.sleep(for: .milliseconds(300))
        #expect(runner.calls.withLock { $0.count } == 1, "no new start while the run goes")

        // Its process gone, the run reads interrupted: the job resumes.
        live.stop()
        _ = await live.wait()
        try await Service.until("job 1 resumed", timeout: .seconds(60)) { runner.calls.withLock { $0.count } == 2 }
        #expect(try await store.run(plain)?.status == .interrupted)
        task.cancel()
        await task.value
    }

    @Test("interrupted-run handling leaves investigations' runs alone: not listed, not marked, not resumed as a matrix run nor by a second process")
    func investigationRunsLeftAlone() async throws {
        let (root, store) = try Self.tempStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (live, deadPID) = try await Self.processes()
        defer { live.stop() }
        let cells = [String]()
        // A nightly and a bisect's steps left by a dead process; a bisect's steps a live one writes.
        for (id, trigger, pid) in [
            ("20261202-0100-night", "schedule", deadPID), ("20261202-0101-stale", "bisect:bstale", deadPID),
            ("20261202-0102-going", "bisect:bgoing", live.pid),
        ] {
            try await store.beginRun(id: id, matrix: "m", matrixPath: "/m.json", trigger: trigger, hostJSON: "{}", cellIDs: cells)
            try Self.setWriter(root, table: "runs", id: id, pid: pid)
        }
        // RunScheduler.run marks every interrupted run it is given here at its start.
        #expect(try await store.interruptedRuns().map(\.id) == ["20261202-0100-night"])

        // The live bisect's run: not marked interrupted by this process, nor taken over.
        let going = "20261202-0102-going"
        await #expect(throws: StoreError.self) { try await store.markInterrupted(going) }
        await #expect(throws: StoreError.self) { _ = try await store.resumeRun(going) }
        await #expect(throws: StoreError.self) {
            _ = try await InvestigationRun.open(store: store, kind: "bisect", id: "bgoing", matrix: "m", matrixPath: "/m.json", hostJSON: "{}")
        }
        #expect(try await store.run(going)?.status == .running)
        #expect(try await store.otherLiveWriter(going) == "pid \(live.pid) on \(ArtifactStore.hostName)", "still the live process's")

        // `nestci run --resume` of a bisect's run refuses: only its bisect resumes it, and does.
        let stale = "20261202-0101-stale"
        do {
            _ = try await store.resumeRun(stale)
            Issue.record("a bisect's run resumed as a matrix run")
        } catch let error as StoreError {
            #expect(error.code == .inUse && error.message.contains("nestci bisect"))
        }
        let reopened = try await InvestigationRun.open(store: store, kind: "bisect", id: "bstale", matrix: "m", matrixPath: "/m.json", hostJSON: "{}")
        #expect(reopened.runID == stale)
        #expect(try await store.run(stale)?.status == .running)

        // The bisect record: a second `nestci bisect` of one running elsewhere stops before writing it.
        try await store.saveBisect(try Self.record(day: 1, status: .running))
        try Self.setWriter(root, table: "bisects", id: "bmanual1", pid: live.pid)
        await #expect(throws: StoreError.self) { try await store.checkBisectNotRunningElsewhere("bmanual1") }
        live.stop()
        _ = await live.wait()
        try await store.checkBisectNotRunningElsewhere("bmanual1")
        #expect(try await store.interruptedRuns().map(\.id) == ["20261202-0100-night"], "the bisect's run, its writer gone, is still its bisect's to take up")
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Issue 12 "In the service": the investigation service on a real store, with runners that
/// stand in for the bisect (they wait until cancelled, or finish when told), so that
/// yielding to a run, `nestci cancel job-N` and resuming after a stop are each seen.
/// The real bisect under the real service is ``RealProcessSuite/AutoBisectTests``.
@Suite("Investigation service", .serialized)
struct InvestigationServiceTests {
    /// Records each call and blocks until cancelled, unless `finish` is set.
    final class Runner: Sendable {
        let calls = Mutex<[(id: Int64, spent: Double)]>([])
        let finish = Mutex(false)
        var body: InvestigationService.Runner {
            { job, spent in
                self.calls.withLock { $0.append((job.id, spent)) }
                while !self.finish.withLock({ $0 }) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                return "first bad commit: fixture abc"
            }
        }
    }

    static let entry: ServiceConfig.MatrixEntry = {
        var entry = ServiceConfig.MatrixEntry(path: "/m.json", name: "m", schedule: nil, watch: true)
        entry.bisect = .init(auto: true, maxSteps: 4, maxHours: 1)
        return entry
    }()

    /// A passing run, then a failing one of the same cell (a regression) with `reason`.
    static func regress(_ store: ArtifactStore, day: Int, reason: String, known: [KnownIssue] = [], runDay: Int? = nil) async throws -> String {
        let cell = try DashboardFixture.cells()[0]
        let stamp = "202612\(String(format: "%02d", runDay ?? day))"
        let good = "\(stamp)-0100-aaaa", bad = "\(stamp)-0200-bbbb"
        let started = Date()
        for (id, result) in [
            (good, CellResult(cell: cell, outcome: .pass, rule: "pass", reason: "PASS", commits: ["hv": "a\(day)"])),
            (bad, CellResult(cell: cell, outcome: .fail, rule: "fail:halt", reason: reason, commits: ["hv": "b\(day)"])),
        ] {
            try await store.beginRun(id: id, matrix: "m", matrixPath: "/m.json", trigger: "t", hostJSON: "{}", cellIDs: [cell.id], started: started)
            try await store.finishRun(id: id, results: RunResults(runID: id, matrix: "m", started: started, finished: started, cells: [result]), knownIssues: known)
        }
        return bad
    }

    static func until(_ what: String, timeout: Duration = .seconds(300), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("a new regression queues one job; it yields to a run, resumes, is cancelled; a stop re-queues and a restart resumes; known issues are not queued")
    func lifecycle() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-investigations-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ArtifactStore(root: root)
        let runner = Runner()
        func service() -> InvestigationService {
            InvestigationService(
                store: store, matrices: [Self.entry], logger: .discarding, tick: .milliseconds(20), runBisect: runner.body,
                runTriage: { _, _ in "no triage here" })
        }
        var first = service()
        var task = Task { [first] in await first.run() }
        // The first start only looks at runs finishing from then on.
        try await Self.until("the first scan") { try await store.serviceValue(InvestigationService.scannedKey) != nil }

        let run = try await Self.regress(store, day: 1, reason: "CPU(0x00): HALT! at 0x1000")
        try await Self.until("job 1 running") { runner.calls.withLock { $0.count } == 1 }
        let job = try #require(try await store.jobs().first)
        #expect(job.kind == .bisect && job.runID == run && job.range == "hv a1..b1" && job.limits.maxSteps == 4)
        #expect(try await store.job(job.id)?.state == .running)

        // A run arrives: the job stops and waits; the run done, it resumes.
        let request = try await store.enqueue(matrixPath: "/m.json", matrix: "m", reason: "nightly")
        try await Self.until("job 1 yielding") { try await store.job(job.id)?.state == .queued }
        #expect(try await store.job(job.id)?.message == "paused for a run; resumes after it")
        try await store.setQueueState(request, .done)
        try await Self.until("job 1 resumed") { runner.calls.withLock { $0.count } == 2 }

        // nestci cancel job-1.
        #expect(try await store.requestJobCancel(job.name)?.contains("will be stopped") == true)
        try await Self.until("job 1 cancelled") { try await store.job(job.id)?.state == .cancelled }

        // The same regression again (same signature and range) is not queued twice; a known one is not at all.
        _ = try await Self.regress(store, day: 1, reason: "CPU(0x00): HALT! at 0x2000", runDay: 4)
        _ = try await Self.regress(
            store, day: 3, reason: "known trouble", known: [KnownIssue(signature: "known trouble", link: "https://bugs.example.org/1")], runDay: 5)
        // A new one starts; the service stops under it.
        _ = try await Self.regress(store, day: 2, reason: "triple fault", runDay: 6)
        try await Self.until("job 2 running") { runner.calls.withLock { $0.count } == 3 }
        #expect(try await store.jobs().count == 2, "one job per signature and commit range, none for the known issue")
        let second = try #require(try await store.jobs().first)
        #expect(second.range == "hv a2..b2")
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await task.value
        #expect(try await store.job(second.id)?.state == .queued)
        #expect(try await store.jobSeconds(second.id) > 0)

        // Restarted: the job resumes with the time it already spent, and finishes.
        runner.finish.withLock { $0 = true }
        first = service()
        task = Task { [first] in await first.run() }
        try await Self.until("job 2 done") { try await store.job(second.id)?.state == .done }
        #expect(runner.calls.withLock { $0.last?.id == second.id && $0.last!.spent > 0 })
        #expect(try await store.job(second.id)?.message == "first bad commit: fixture abc")
        task.cancel()
        await task.value
    }

    @Test("maxHours: a job past its hours stops, its message saying so")
    func maxHours() async throws {
        let used = try await InvestigationRunners.withinHours(1, spent: 3600) { "never" }
        #expect(used.hasPrefix("stopped: its maxHours (1.0 h) was used up"))
        let quick = try await InvestigationRunners.withinHours(1, spent: 0) { "found" }
        #expect(quick == "found")
        let reached = try await InvestigationRunners.withinHours(0.0001, spent: 0) {
            try await Task.sleep(for: .seconds(60))
            return "too late"
        }
        #expect(reached.hasPrefix("stopped: its maxHours"))
    }
}

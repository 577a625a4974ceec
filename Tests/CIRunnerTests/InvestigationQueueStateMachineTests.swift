import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Issue 12 "In the service": the investigation queue's decisions.
@Suite("Investigation queue state machine")
struct InvestigationQueueStateMachineTests {
    static func job(_ id: Int64, _ kind: InvestigationJob.Kind = .bisect) -> InvestigationJob {
        InvestigationJob(id: id, kind: kind, matrix: "m", matrixPath: "/m.json", runID: "r", cellID: "c\(id)", signature: "FAIL x", range: "hv a..b")
    }

    @Test("a job starts only when no run waits or runs, and finishes as done")
    func startsWhenIdle() {
        var machine = InvestigationQueueStateMachine()
        #expect(machine.tick(next: Self.job(1), runsPending: true) == .none, "a queued run goes first")
        #expect(machine.state == .idle)
        #expect(machine.tick(next: nil, runsPending: false) == .none)
        #expect(machine.tick(next: Self.job(1), runsPending: false) == .start(jobID: 1))
        #expect(machine.tick(next: Self.job(2), runsPending: false) == .none, "one job at a time")
        #expect(machine.jobEnded(.finished("first bad commit: hv abc")) == .init(jobID: 1, state: .done, message: "first bad commit: hv abc"))
        #expect(machine.tick(next: Self.job(2), runsPending: false) == .none, "nothing new before the row is written")
        machine.recorded(false)
        #expect(machine.unrecorded?.jobID == 1, "the store refused: retried")
        machine.recorded(true)
        #expect(machine.state == .idle)
    }

    @Test("a run arriving stops the job at its next step; it goes back to the queue")
    func yieldsToRuns() {
        var machine = InvestigationQueueStateMachine()
        _ = machine.tick(next: Self.job(1), runsPending: false)
        #expect(machine.tick(next: nil, runsPending: true) == .stopJob(jobID: 1))
        #expect(machine.tick(next: nil, runsPending: true) == .none, "stopped once")
        #expect(machine.jobEnded(.cancelled) == .init(jobID: 1, state: .queued, message: "paused for a run; resumes after it"))
        machine.recorded(true)
        #expect(machine.tick(next: Self.job(1), runsPending: true) == .none)
        #expect(machine.tick(next: Self.job(1), runsPending: false) == .start(jobID: 1), "resumed once the runs are done")
    }

    @Test("a job that finishes while told to yield is done, not re-queued")
    func finishesWhileYielding() {
        var machine = InvestigationQueueStateMachine()
        _ = machine.tick(next: Self.job(1), runsPending: false)
        _ = machine.tick(next: nil, runsPending: true)
        #expect(machine.jobEnded(.finished("found"))?.state == .done)
    }

    @Test("nestci cancel: cancelled; a stop after it keeps it cancelled")
    func cancel() {
        var machine = InvestigationQueueStateMachine()
        #expect(machine.cancelRequested(jobID: 1) == .none, "nothing runs")
        _ = machine.tick(next: Self.job(1), runsPending: false)
        #expect(machine.cancelRequested(jobID: 2) == .none, "another job")
        #expect(machine.cancelRequested(jobID: 1) == .stopJob(jobID: 1))
        #expect(machine.cancelRequested(jobID: 1) == .none)
        #expect(machine.stop() == .none)
        #expect(machine.jobEnded(.cancelled) == .init(jobID: 1, state: .cancelled, message: "cancelled by nestci cancel"))
        machine.recorded(true)
        #expect(machine.state == .stopped)
    }

    @Test("a service stop re-queues the running job (resumed on restart) and starts nothing more")
    func serviceStop() {
        var machine = InvestigationQueueStateMachine()
        _ = machine.tick(next: Self.job(1), runsPending: false)
        #expect(machine.stop() == .stopJob(jobID: 1))
        #expect(machine.jobEnded(.cancelled)?.state == .queued)
        machine.recorded(true)
        #expect(machine.state == .stopped)
        #expect(machine.tick(next: Self.job(2), runsPending: false) == .none)
        var idle = InvestigationQueueStateMachine()
        #expect(idle.stop() == .none && idle.state == .stopped)
        var failing = InvestigationQueueStateMachine()
        _ = failing.tick(next: Self.job(3), runsPending: false)
        #expect(failing.jobEnded(.failed("no good run"))?.state == .failed)
    }

    @Test("jobs from findings: new regressions bisect, new -O-only triage after, known and fixes never; auto off queues none")
    func jobsFromFindings() throws {
        let cells = try DashboardFixture.cells()
        var failing = CellResult(cell: cells[0], outcome: .fail, rule: "fail:halt", reason: "HALT at 0x1000", commits: ["hv": "bbbb"])
        failing.signature = FailureSignature(result: failing)
        let o3 = CellResult(cell: cells[1], outcome: .fail, rule: "fail:halt", reason: "HALT", commits: ["hv": "bbbb"])
        func verdict(_ cell: CellResult, run: String, outcome: Outcome) -> Finding.Verdict {
            .init(runID: run, cellID: cell.cellID, label: "", outcome: outcome, rule: cell.rule, reason: cell.reason, line: nil, commits: cell.commits)
        }
        let regression = Finding(
            kind: .regression, title: "r", cellIDs: [failing.cellID], verdicts: [verdict(failing, run: "r1", outcome: .pass), verdict(failing, run: "r2", outcome: .fail)],
            commits: [.init(component: "hv", before: "aaaa", after: "bbbb")], vmcsDiff: nil, detail: "")
        var known = regression
        known.known = .init(link: "L", signature: "HALT")
        let optOnly = Finding(kind: .optOnly, title: "o", cellIDs: [o3.cellID], verdicts: [verdict(o3, run: "r2", outcome: .fail)], commits: [], vmcsDiff: nil, detail: "")
        let fix = Finding(kind: .fix, title: "f", cellIDs: [failing.cellID], verdicts: [], commits: [], vmcsDiff: nil, detail: "")
        var entry = ServiceConfig.MatrixEntry(path: "/m.json", name: "m", schedule: nil, watch: true)
        #expect(InvestigationJob.jobs(for: [optOnly, regression], cells: [failing, o3], runID: "r2", matrix: entry, now: Date()).isEmpty)
        entry.bisect = .init(auto: true, maxSteps: 5, maxHours: 1)
        entry.triage = .init(auto: true, maxBuilds: 9)
        let jobs = InvestigationJob.jobs(for: [optOnly, known, regression, fix], cells: [failing, o3], runID: "r2", matrix: entry, now: Date())
        #expect(jobs.map(\.kind) == [.bisect, .triage])
        #expect(jobs[0].cellID == failing.cellID && jobs[0].range == "hv aaaa..bbbb" && jobs[0].signature == #"FAIL fail:halt "HALT at #""#)
        #expect(jobs[0].limits == .init(maxSteps: 5, maxHours: 1) && jobs[1].limits == .init(maxBuilds: 9))
        #expect(jobs[0].dedupeKey != jobs[1].dedupeKey)
    }

    @Test("the store queues a signature and range once, bisections first, and cancels by job name")
    func store() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-jobs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try ArtifactStore(root: root)
        let triage = try #require(try await store.enqueueJob(Self.job(0, .triage)))
        let bisect = try #require(try await store.enqueueJob(Self.job(0)))
        #expect(try await store.enqueueJob(Self.job(0)) == nil, "the same signature and commit range again")
        #expect(try await store.nextQueuedJob()?.id == bisect.id, "bisections first")
        try await store.setJobState(bisect.id, .running)
        #expect(try await store.nextQueuedJob()?.id == triage.id)
        #expect(try await store.requestJobCancel("job-\(bisect.id)")?.contains("will be stopped by the service") == true)
        #expect(try await store.job(bisect.id)?.cancelRequested == true)
        #expect(try await store.requestJobCancel("job-\(triage.id)")?.contains("cancelled before it started") == true)
        #expect(try await store.job(triage.id)?.state == .cancelled)
        #expect(try await store.requestJobCancel("20261201-0100-aaaa") == nil, "not a job: the run queue's")
        await #expect(throws: StoreError.self) { try await store.requestJobCancel("job-999") }
        try await store.setJobState(bisect.id, .running, addSeconds: 30)
        #expect(try await store.requeueRunningJobs().map(\.id) == [bisect.id])
        #expect(try await store.job(bisect.id)?.state == .queued)
        #expect(try await store.jobSeconds(bisect.id) == 30)
    }
}

import Foundation
import Matrix
import Testing

@testable import CIRunner

@Suite("Investigation seam: failure signatures, step classification, the flake rule, investigation runs")
struct InvestigationSeamTests {
    static let values = ["chain": "minivisor", "opt": "O2", "bits": "i386", "smp": "1", "backend": "bochs"]

    static func result(_ outcome: Outcome, rule: String? = nil, reason: String = "", commit: String = "c1") -> CellResult {
        var result = SyntheticCell.result(values: values, outcome: outcome, rule: rule, reason: reason, commits: ["minivisor": commit])
        result.signature = FailureSignature(result: result)
        return result
    }

    static let original = FailureSignature(outcome: .fail, rule: "fail:vmlaunch-error", line: "CPU(#): VMLAUNCH error: VM-instruction error #")

    @Test("normalising masks counters, addresses, hex and timestamps and keeps the words")
    func normalise() {
        #expect(FailureSignature.normalise("CPU(0x01): VMLAUNCH error: VM-instruction error 7") == "CPU(#): VMLAUNCH error: VM-instruction error #")
        #expect(FailureSignature.normalise("[  12.345] fault at ffff8000deadbeef  rip=0x1f") == "[ #] fault at # rip=#")
        #expect(FailureSignature.normalise("12:34:56 iter 20 of 21") == "# iter # of #")
        #expect(FailureSignature.normalise("HALT! deadline") == "HALT! deadline", "words with hex letters stay")
        // Two boots of one bug, other numbers: one signature.
        let a = Self.result(.fail, rule: "fail:vmlaunch-error", reason: "CPU(0x00): VMLAUNCH error: VM-instruction error 7")
        let b = Self.result(.fail, rule: "fail:vmlaunch-error", reason: "CPU(0x03): VMLAUNCH error: VM-instruction error 8")
        #expect(a.signature == b.signature && a.signature == Self.original)
        #expect(Self.result(.pass).signature == nil && Self.result(.skip).signature == nil && Self.result(.flaky).signature == nil)
    }

    @Test("a TIMEOUT's signature is timeout plus the last milestone, else the last non-empty line")
    func timeoutSignature() {
        let timeout = Self.result(.timeout, rule: "deadline", reason: "deadline passed after 40 lines")
        let milestones = [Marker(name: "iter", regex: "test iter")]
        let lines = ["boot", "CPU(0x00): LHV in XMHF test iter 12", "CPU(0x00): noise 0x44", "", ""]
        let signature = FailureSignature(result: timeout, serialLines: lines, milestones: milestones)
        #expect(signature == FailureSignature(outcome: .timeout, rule: "timeout", line: "CPU(#): LHV in XMHF test iter #"))
        let noMilestone = FailureSignature(result: timeout, serialLines: ["grub", "loading 0x100000", "  "], milestones: milestones)
        #expect(noMilestone?.line == "loading #")
    }

    @Test("signatures round-trip in result JSON; old results without one decode")
    func persisted() throws {
        let failing = Self.result(.fail, rule: "fail:halt", reason: "HALT! at 0x10")
        let decoded = try JSONDecoder().decode(CellResult.self, from: try JSONEncoder().encode(failing))
        #expect(decoded.signature == failing.signature && decoded.signature != nil)
        let old = SyntheticCell.result(values: Self.values, outcome: .fail)
        #expect(old.signature == nil)
    }

    @Test("classification: PASS good, same signature bad, other failure weak then skip, BUILD-FAIL skip, INFRA retry then skip")
    func classify() {
        let same = Self.result(.fail, rule: "fail:vmlaunch-error", reason: "CPU(0x02): VMLAUNCH error: VM-instruction error 7")
        let other = Self.result(.fail, rule: "fail:halt", reason: "HALT!")
        let infra = Self.result(.infra, rule: "emulator-failed-to-start", reason: "no bochs")
        let build = Self.result(.buildFail, rule: "build", reason: "level 0: error: x")
        #expect(StepClassifier.classify([Self.result(.pass)], original: Self.original) == .good)
        #expect(StepClassifier.classify([same, Self.result(.pass)], original: Self.original) == .good, "one pass proves good")
        #expect(StepClassifier.classify([same], original: Self.original) == .bad)
        #expect(StepClassifier.classify([other], original: Self.original) == .weak(other.signature!))
        #expect(StepClassifier.classify([other], original: Self.original, secondTry: true).name == "skip")
        #expect(StepClassifier.classify([build], original: Self.original).name == "skip")
        #expect(StepClassifier.classify([infra], original: Self.original).name == "retry")
        #expect(StepClassifier.classify([infra], original: Self.original, secondTry: true).name == "skip")
        #expect(StepClassifier.classify([infra, same], original: Self.original) == .bad)
    }

    @Test("flake rule: 1 boot for a steady cell; a FLAKY or a failure later proven good asks for p^K ≤ 0.05")
    func flakeRule() {
        let same = Self.result(.fail, rule: "fail:vmlaunch-error", reason: "CPU(0x00): VMLAUNCH error: VM-instruction error 7", commit: "c5")
        let steady = Array(repeating: Self.result(.pass), count: 13) + [same]
        #expect(FlakeRule.boots(history: steady, signature: Self.original).boots == 1, "failed once, never proven good")
        // Newest first: c5 passed in a newer run, so its failure was a flake.
        let proven = [Self.result(.pass, commit: "c5")] + Array(repeating: Self.result(.pass), count: 12) + [same]
        let decision = FlakeRule.boots(history: proven, signature: Self.original)
        #expect(decision.flakes == 1 && decision.runs == 14)
        #expect(abs(decision.flakeRate - 2.0 / 16.0) < 1e-9)
        #expect(decision.boots == 2, "0.125^2 = 0.016 ≤ 0.05, 0.125 > 0.05")
        let flaky = Array(repeating: Self.result(.flaky), count: 6) + Array(repeating: Self.result(.pass), count: 8)
        #expect(FlakeRule.boots(history: flaky, signature: Self.original).boots == 4, "p = 7/16: 0.4375^4 = 0.037")
        #expect(FlakeRule.bootsFor(rate: 0.1) == 2 && FlakeRule.bootsFor(rate: 0.5) == 5 && FlakeRule.bootsFor(rate: 0.99) == 10)
        #expect(FlakeRule.bootsFor(rate: 0) == 1)
        // Only the last 14 runs count.
        let old = Array(repeating: Self.result(.pass), count: 14) + [Self.result(.flaky)]
        #expect(FlakeRule.boots(history: old, signature: Self.original).boots == 1)
    }

    @Test("an investigation run is not a previous run, not in a cell's history or listings, has no findings, and resumes")
    func investigationRunsStayApart() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let store = fixture.store
        let investigation = try await InvestigationRun.open(
            store: store, kind: "bisect", id: "demo-1", matrix: "demo", matrixPath: "/demo/demo.json", hostJSON: "{}")
        #expect(investigation.runID > StoreFixture.currentRun)
        var step = SyntheticCell.result(values: StoreFixture.values(rev: "main", opt: "O2"), outcome: .fail, reason: "CPU(0x00): VMLAUNCH error")
        step.cellID += ".abc1234"
        try await store.recordCell(runID: investigation.runID, result: step)
        try await investigation.finish(store: store)

        let later = "29990101-000000-cccc"
        #expect(try await store.previousRun(matrix: "demo", before: later)?.id == StoreFixture.currentRun)
        #expect(try await store.runs(matrix: "demo").map(\.id) == [StoreFixture.currentRun, StoreFixture.previousRun])
        #expect(try await store.runs(matrix: "demo", investigations: true).first?.id == investigation.runID)
        #expect(try await store.findings(runID: investigation.runID).isEmpty)
        #expect(try await store.cells(runID: investigation.runID).map(\.cellID) == [step.cellID])
        let cellID = Cell.id(for: StoreFixture.values(rev: "main", opt: "O2"))
        #expect(try await store.history(matrix: "demo", cellID: cellID).map(\.runID) == [StoreFixture.currentRun, StoreFixture.previousRun])
        let summary = try #require(try await store.run(investigation.runID))
        #expect(summary.status == .finished && summary.findingCount == 0 && summary.trigger == "bisect:demo-1")

        let again = try await InvestigationRun.open(
            store: store, kind: "bisect", id: "demo-1", matrix: "demo", matrixPath: "/demo/demo.json", hostJSON: "{}")
        #expect(again.runID == investigation.runID, "the same investigation continues its run")
        #expect(try await store.cell(runID: again.runID, cellID: step.cellID) != nil)
    }

    @Test("confidence: the culprit's failing confirmation boots against the flake rate, each parent's passes against a bad commit passing")
    func confidence() {
        let same = Self.result(.fail, rule: "fail:vmlaunch-error", reason: "CPU(0x00): VMLAUNCH error: VM-instruction error 7")
        let pass = Self.result(.pass)
        // p = 1/(14+2), 2 failing boots: 1 - p^2; q = 1/(4+2), 2 passes: 1 - q^2.
        let value = BisectConfidence.compute(culprit: [same, same], parents: [[pass, pass]], signature: Self.original, flakeRate: 0, historyRuns: 14, badBoots: 4)
        let culpritFactor: Double = 1 - 1.0 / 256
        let parentFactor: Double = 1 - 1.0 / 36
        let expected: Double = (culpritFactor * parentFactor * 100).rounded(.down) / 100
        #expect(value == expected && value == 0.96)
        #expect(BisectConfidence.compute(culprit: [same, pass], parents: [[pass]], signature: Self.original, flakeRate: 0, historyRuns: 14, badBoots: 4) == 0)
        #expect(BisectConfidence.compute(culprit: [same], parents: [[same, same]], signature: Self.original, flakeRate: 0, historyRuns: 14, badBoots: 4) == 0)
    }

    @Test("the result line names component, short commit, subject, author, date, steps, builds, boots, minutes and confidence")
    func resultLine() {
        let step = { (purpose: BisectStep.Purpose, commit: String) in
            BisectStep(commit: commit, purpose: purpose, verdict: "bad", outcomes: [.fail], signature: nil, runID: "r", cellIDs: ["c"], note: nil)
        }
        var record = BisectRecord(
            id: "b1", runID: "r", cellID: "c", matrix: "m", level: 0, component: "xmhf64", good: "a", bad: "b", signature: Self.original,
            bootsPerStep: 1, bootsReason: "", investigationRunID: "i", status: .finished,
            steps: [step(.bisect, "1"), step(.bisect, "2"), step(.bisect, "2"), step(.confirm, "2")],
            culprit: BisectCommit(commit: "3c6192ea0123456789", subject: "vmcs: halves", author: "Ann", date: "2026-11-30", parents: ["x"]),
            builds: 6, cachedBuilds: 3, boots: 11, minutes: 13.6, confidence: 0.994, notes: [], started: Date(), finished: Date())
        #expect(record.resultLine == "first bad commit: xmhf64 3c6192ea0 \"vmcs: halves\" (Ann, 2026-11-30); 2 steps, 9 builds (3 cached), 11 boots, 14 min; confidence 0.99")
        record.status = .failed
        record.notes = ["--max-steps 3 reached"]
        #expect(record.resultLine.hasPrefix("bisect failed: --max-steps 3 reached;"))
    }
}

import Foundation
import Matrix
import Testing

@testable import CIRunner

@Suite("Findings")
struct FindingsTests {
    @Test("-O only: rev=main passes at O0 and fails at O2, O3; the VMCS diff names the link pointer 0x2800")
    func optOnly() async throws {
        let fixture = try StoreFixture()
        let findings = try await fixture.fillTwoRuns()
        let opt = try #require(findings.first { $0.kind == .optOnly })
        #expect(opt.title == "minivisor i386 (rev=main): passes at O0, fails at O2, O3")
        #expect(opt.verdicts.map(\.label) == ["O0", "O2", "O3"])
        #expect(opt.verdicts.map(\.outcome) == [.pass, .fail, .fail])
        #expect(opt.cellIDs.count == 4, "O0, O2, O3 of rev=main and rev=good O2, whose dump the diff compares against")
        #expect(opt.commits.isEmpty)  // the same commit passes and fails: the optimiser did it
        // rev=good passes at O2 too: same -O level, same layout, so its dump is diffed first,
        // and the failing revision's own O0 dump second.
        let diff = try #require(opt.vmcsDiff)
        #expect(diff.passingCellID == Cell.id(for: StoreFixture.values(rev: "good", opt: "O2")))
        #expect(diff.failingCellID == Cell.id(for: StoreFixture.values(rev: "main", opt: "O2")))
        let second = try #require(opt.secondVMCSDiff)
        #expect(second.passingCellID == Cell.id(for: StoreFixture.values(rev: "main", opt: "O0")))
        #expect(second.failingCellID == diff.failingCellID)
        #expect(opt.detail.contains("VMCS against O0 0x2800 VMCS link pointer"))
        #expect(opt.text.contains("VMCS diff (second, against another -O level"))
        // Only the link pointer differs outside the mask (TSC offset and host RSP are masked noise).
        #expect(diff.fields == [
            Finding.Field(
                encoding: "0x2800", sdmName: "VMCS link pointer", printedName: "guest_VMCS_link_pointer_full", group: .guestState,
                passing: "0xffffffffffffffff", failing: "0x0000000000000000")
        ])
        #expect(diff.text.contains("0x2800"))
        #expect(opt.detail.contains("VMCS 0x2800 VMCS link pointer (guest_VMCS_link_pointer_full): 0xffffffffffffffff → 0x0000000000000000"))
        // No finding for rev=good: it passes everywhere.
        #expect(findings.filter { $0.kind == .optOnly }.count == 1)
    }

    @Test("regression: passed in the previous run, fails now, with both commits; VMCS diff against the old run")
    func regression() async throws {
        let fixture = try StoreFixture()
        let findings = try await fixture.fillTwoRuns()
        let regressions = findings.filter { $0.kind == .regression }
        #expect(regressions.count == 2)
        let o3 = try #require(regressions.first { $0.cellIDs == [Cell.id(for: StoreFixture.values(rev: "main", opt: "O3"))] })
        #expect(o3.commits == [Finding.CommitChange(component: "minivisor", before: StoreFixture.oldMainCommit, after: StoreFixture.newMainCommit)])
        #expect(o3.title == "minivisor i386 (rev=main) O3: passed in \(StoreFixture.previousRun), FAIL now (minivisor 222222222222..333333333333)")
        #expect(o3.verdicts.map(\.runID) == [StoreFixture.previousRun, StoreFixture.currentRun])
        #expect(o3.vmcsDiff?.passingRunID == StoreFixture.previousRun)
        #expect(o3.vmcsDiff?.fields.map(\.encoding) == ["0x2800"])
    }

    @Test("axis differential: rev=good passes, rev=main fails at O2, O3, naming both commits")
    func axis() async throws {
        let fixture = try StoreFixture()
        let findings = try await fixture.fillTwoRuns()
        let axis = try #require(findings.first { $0.kind == .regressionAcrossAxis })
        #expect(axis.title == "minivisor i386: rev=good passes, rev=main fails at O2, O3")
        #expect(axis.commits == [Finding.CommitChange(component: "minivisor", before: StoreFixture.goodCommit, after: StoreFixture.newMainCommit)])
        #expect(axis.verdicts.map(\.label) == ["rev=good O2", "rev=main O2", "rev=good O3", "rev=main O3"])
        #expect(axis.vmcsDiff?.fields.map(\.encoding) == ["0x2800"])
        #expect(findings.map(\.kind) == [.optOnly, .regressionAcrossAxis, .regression, .regression])
    }

    @Test("findings.json round-trips, and the first run of a matrix has no regressions")
    func findingsFile() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let report = try StoreFiles.decode(FindingsReport.self, file: "\(fixture.store.layout.run(StoreFixture.currentRun))/findings.json")
        #expect(report.previousRunID == StoreFixture.previousRun)
        #expect(try await fixture.store.findings(runID: StoreFixture.currentRun) == report.findings)
        #expect(try await fixture.store.findings(runID: StoreFixture.previousRun).isEmpty)
    }

    @Test("a fix: failed before, passes now; build failures and timeouts count as failures, INFRA and SKIP do not")
    func fixAndOutcomes() {
        func cell(_ opt: String, _ outcome: Outcome, commit: String = "c1") -> CellResult {
            SyntheticCell.result(values: ["chain": "lhv", "opt": opt, "bits": "amd64"], outcome: outcome, commits: ["lhv": commit])
        }
        let analyzer = FindingsAnalyzer(
            runID: "now", cells: [cell("O0", .pass, commit: "c2"), cell("O2", .infra), cell("O3", .buildFail)],
            previousRunID: "before", previousCells: [cell("O0", .timeout), cell("O2", .pass), cell("O3", .skip)])
        let findings = analyzer.findings()
        #expect(findings.map(\.kind) == [.optOnly, .fix])
        #expect(findings[0].title == "lhv amd64: passes at O0, fails at O3 (BUILD-FAIL)")
        #expect(findings[0].vmcsDiff == nil)
        #expect(findings[1].title == "lhv amd64 O0: TIMEOUT in before, passes now (lhv c1..c2)")
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

@Suite("Triage record: what the report, dashboard and demo say")
struct TriageRecordTests {
    static func record(flags: [String]?, units: [TriageUnit]?, candidates: [String] = ["-fstrict-aliasing", "-ftree-pre"], notes: [String] = []) -> TriageRecord {
        TriageRecord(
            id: "t0", runID: "R", cellID: "c2", passingCellID: "c0", matrix: "m", low: .O0, high: .O3,
            signature: FailureSignature(outcome: .fail, rule: "fail:halt", line: "HALT!"), bootsPerStep: 1, bootsReason: "", investigationRunID: "I",
            status: .finished, candidates: candidates, minimalFlags: flags, units: units ?? [], minimalUnits: units, components: [0: "xmhf64"],
            steps: [], flagTests: 3, unitTests: 2, builds: 5, cachedBuilds: 1, boots: 5, reusedBoots: 0, seconds: 90, notes: notes, started: Date())
    }

    @Test("a culprit flag and unit in the issue's words")
    func sentences() {
        var record = Self.record(flags: ["-fstrict-aliasing"], units: [TriageUnit(level: 0, path: "regression/vmcs_link.c")])
        record.passesOtherwise = true
        #expect(record.flagsSentence == "fails at -O3; passes at -O3 -fno-strict-aliasing: the failure needs -fstrict-aliasing (typical of type punning through incompatible pointers)")
        #expect(record.unitsSentence == "fails when regression/vmcs_link.c is built at -O3 (everything else at -O0); passes otherwise")
        #expect(record.costSentence == "0 steps, 6 builds (1 cached), 5 boots, 1.5 min")
        #expect(TriageRecord.demoLine(record) == "the O3 failure needs -fstrict-aliasing; the unit: regression/vmcs_link.c")
        var confirmed = record
        confirmed.confirmations = [TriageConfirmation(cellID: "c3", opt: .O2, flagsPass: true, unitsFail: true)]
        #expect(confirmed.levelsText == "O3/O2")
        confirmed.confirmations[0].unitsFail = false
        #expect(confirmed.levelsText == "O3", "a disagreeing level is not claimed")
        #expect(confirmed.confirmationSentence?.contains("NOT the same") == true)
    }

    @Test("\"passes otherwise\" only when every unit at -Oa through the wrapper passed")
    func passesOtherwise() {
        var record = Self.record(flags: nil, units: [TriageUnit(level: 0, path: "vmcs.c")])
        #expect(record.unitsSentence == "fails when vmcs.c is built at -O3 (everything else at -O0); not confirmed that it passes otherwise (every unit at -O0 through the wrapper)")
        record.passesOtherwise = false
        #expect(record.unitsSentence.hasPrefix("fails when vmcs.c is built at -O3 (everything else at -O0); but it fails too with every unit at -O0 through the wrapper"))
        #expect(!record.unitsSentence.contains("passes otherwise"))
        record.passesOtherwise = true
        #expect(record.unitsSentence.hasSuffix("; passes otherwise"))
    }

    @Test("honest when nothing explains it, or the wrapper was bypassed")
    func honesty() {
        let none = Self.record(flags: nil, units: nil, notes: [CompilerWrapper.bypassed])
        #expect(none.flagsSentence.contains("no -f flag explains it"))
        #expect(none.unitsSentence.contains("absolute path"))
        #expect(Self.record(flags: nil, units: nil, candidates: []).flagsSentence.hasPrefix("no optimisation flag is enabled at -O3"))
    }

    @Test("units of several levels are named by component")
    func namesByComponent() {
        var record = Self.record(flags: nil, units: [TriageUnit(level: 1, path: "a.c")])
        record.components = [0: "xmhf64", 1: "lhv"]
        #expect(record.name(TriageUnit(level: 1, path: "a.c")) == "lhv/a.c")
    }
}

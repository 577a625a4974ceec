import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Which dump a finding diffs against, "passes again", and configuration changes between runs.
@Suite("Findings: siblings, passes again, configuration")
struct FindingsSiblingTests {
    static func values(_ rev: String, _ opt: String) -> [String: String] {
        ["chain": "xmhf-lhv", "rev": rev, "opt": opt, "bits": "i386", "smp": "1", "backend": "bochs"]
    }

    /// rev × opt: rev=good passes everywhere, rev=main fails at O3 (the seed bug), rev=5af7fe209 passes.
    /// Dumps: O0 builds print `good-O0-layout.txt`, O3 builds `good1.txt` or (failing) `bad1.txt`.
    static func analyzer(revs: [String] = ["good", "main", "5af7fe209"]) throws -> FindingsAnalyzer {
        let o0 = try VMCSDumpParser.parse(VMCSFixtures.text("good-O0-layout.txt"))
        let good = try VMCSDumpParser.parse(VMCSFixtures.text("good1.txt"))
        let bad = try VMCSDumpParser.parse(VMCSFixtures.text("bad1.txt"))
        var cells: [CellResult] = []
        var dumps: [String: VMCSDumpSet] = [:]
        for rev in revs {
            for opt in ["O0", "O3"] {
                let fails = rev == "main" && opt == "O3"
                let cell = SyntheticCell.result(
                    values: values(rev, opt), outcome: fails ? .fail : .pass,
                    reason: fails ? "CPU(0x00): VMRESUME error in nested virtualization" : "LHV in XMHF test iter 21",
                    commits: ["xmhf64": rev == "main" ? "bbbb" : rev == "good" ? "aaaa" : "cccc"])
                cells.append(cell)
                dumps[cell.cellID] = opt == "O0" ? o0 : fails ? bad : good
            }
        }
        let frozen = dumps
        return FindingsAnalyzer(runID: "run", cells: cells, dumps: { _, cell in frozen[cell] })
    }

    @Test("-O only with a passing revision at O3: the same-layout diff first shows only the culprit; the O0 diff second")
    func sameLevelFirst() throws {
        let findings = try Self.analyzer().findings()
        let opt = try #require(findings.first { $0.kind == .optOnly })
        let first = try #require(opt.vmcsDiff)
        #expect(first.passingCellID == Cell.id(for: Self.values("good", "O3")))
        #expect(first.fields.map(\.encoding) == ["0x2026", "0x2028", "0x401a", "0x4400"], "same layout: no address moved")
        #expect(opt.cellIDs.contains(first.passingCellID), "the finding cites the cell it compares against")
        let second = try #require(opt.secondVMCSDiff)
        #expect(second.passingCellID == Cell.id(for: Self.values("main", "O0")))
        #expect(second.diff.layoutChanges.count == 8)
        #expect(opt.detail.contains("VMCS 0x2026 VMREAD-bitmap address (control_VMREAD_bitmap_address): 0x0000000010b63000 → 0x0000000000000000 (became 0)"))
        #expect(opt.detail.contains("VMCS against O0 0x2026 VMREAD-bitmap address (control_VMREAD_bitmap_address): 0x0000000010a53000 → 0x0000000000000000 (became 0)"))
        #expect(opt.detail.contains("VMCS against O0: 8 addresses differ (layout)"))
        // The text shows the same-layout diff before the O0 one.
        let text = opt.text
        let sameLayout = try #require(text.range(of: "VMCS diff, \(first.passingCellID)"))
        let layout = try #require(text.range(of: "VMCS diff (second"))
        #expect(sameLayout.lowerBound < layout.lowerBound)

        // The dashboard and the webhook carry the same summary.
        let shown = DashboardPublisher.dashboardFinding(opt)
        #expect(shown.detail.contains("0x2028 VMWRITE-bitmap address"))
        let webhook = RunNotification(run: DashboardRun(id: "run", matrix: "m", trigger: "nightly", started: Date(), cells: [], findings: [shown]))
        let headline = "VMCS: VMREAD-bitmap address became 0, VMWRITE-bitmap address became 0, VM-entry instruction length became 0, VM-instruction error stopped being 0"
        #expect(opt.vmcsHeadline == headline)
        #expect(webhook.text.contains(" · \(headline)"), "chat shows the culprit, not only the title")
        #expect(webhook.findings.first?.detail.contains("0x2026 VMREAD-bitmap address (control_VMREAD_bitmap_address): 0x0000000010b63000 → 0x0000000000000000 (became 0)") == true)
    }

    @Test("without a passing revision at the failing level the O0 diff is the only one, ranked")
    func o0Only() throws {
        let findings = try Self.analyzer(revs: ["main"]).findings()
        let opt = try #require(findings.first { $0.kind == .optOnly })
        #expect(opt.vmcsDiff?.passingCellID == Cell.id(for: Self.values("main", "O0")))
        #expect(opt.secondVMCSDiff == nil)
        #expect(opt.vmcsDiff?.fields.prefix(2).map(\.encoding) == ["0x2026", "0x2028"])
        #expect(!opt.detail.contains("more field"), "nothing hidden under 'more fields differ'")
        #expect(opt.vmcsHeadline?.hasPrefix("VMCS: VMREAD-bitmap address became 0, VMWRITE-bitmap address became 0") == true)
        #expect(opt.vmcsHeadline?.hasSuffix("(+9 more)") == true)
    }

    @Test("the axis finding says when a later revision passes again")
    func passesAgain() throws {
        let findings = try Self.analyzer().findings()
        let axis = try #require(findings.first { $0.kind == .regressionAcrossAxis })
        #expect(axis.title == "xmhf-lhv i386: rev=good passes, rev=main fails at O3, rev=5af7fe209 passes again")
        #expect(axis.verdicts.map(\.label) == ["rev=good O3", "rev=main O3", "rev=5af7fe209 O3"])
        #expect(axis.cellIDs.contains(Cell.id(for: Self.values("5af7fe209", "O3"))))
        #expect(axis.vmcsDiff?.passingCellID == Cell.id(for: Self.values("good", "O3")))
        #expect(axis.secondVMCSDiff?.passingCellID == Cell.id(for: Self.values("main", "O0")))

        let still = try #require(try Self.analyzer(revs: ["good", "main"]).findings().first { $0.kind == .regressionAcrossAxis })
        #expect(still.title == "xmhf-lhv i386: rev=good passes, rev=main fails at O3")
    }

    static let matrix = """
        {
          "name": "lhv-nightly",
          "components": {
            "lhv": {
              "kind": "guest", "repository": "https://example.org/lhv.git", "revision": "lhv", "options": "OPTIONS",
              "build": {"command": "./configure --with-opt='{opt}' {options} && make -j{jobs}", "outputs": {"init": "init.bin"}},
              "boot": {"kernel": "init", "cmdline": "serial=115200,8n1,0x3f8"}
            }
          },
          "chains": {"lhv": {"levels": [{"component": "lhv"}], "verdict": {"pass": [{"regex": "PASSRULE", "minPerCPU": 21}]}, "timeouts": {"boot": 300}}},
          "axes": {"chain": ["lhv"], "opt": ["O0"], "bits": ["i386"], "smp": [1], "backend": ["bochs"]}
        }
        """

    static func cell(
        options: String = "--with-lhv-opt=0xdfd", pass: String = "LHV test iter", text edit: (String) -> String = { $0 }
    ) throws -> Cell {
        let text = matrix.replacingOccurrences(of: "OPTIONS", with: options).replacingOccurrences(of: "PASSRULE", with: pass)
        return try #require(try MatrixFile.parse(edit(text)).plan().cells.first)
    }

    @Test("the configuration fingerprint names what changed: build options, pass rule; equal definitions agree")
    func fingerprint() throws {
        let base = CellConfiguration.fingerprint(of: try Self.cell())
        #expect(!base.isEmpty)
        #expect(CellConfiguration.fingerprint(of: try Self.cell()) == base)
        let changed = CellConfiguration.fingerprint(of: try Self.cell(options: "--with-lhv-opt=0xdfc", pass: "LHV in XMHF test iter"))
        #expect(CellConfiguration.changes(from: base, to: changed) == ["build lhv (variables.options)", "verdict rules (pass)"])
        #expect(CellConfiguration.changes(from: base, to: base).isEmpty)
        let command = try Self.cell(text: { $0.replacingOccurrences(of: "make -j{jobs}", with: "make V=1 -j{jobs}") })
        #expect(CellConfiguration.changes(from: base, to: CellConfiguration.fingerprint(of: command)) == ["build lhv (command)"])
        let timeout = try Self.cell(text: { $0.replacingOccurrences(of: #""boot": 300"#, with: #""boot": 600"#) })
        #expect(CellConfiguration.changes(from: base, to: CellConfiguration.fingerprint(of: timeout)) == ["boot timeout"])
        // The result carries it: the store keeps it with the cell (result_json, result.json).
        #expect(CellResult(cell: try Self.cell(), outcome: .pass, rule: "pass", reason: "").configuration == base)
    }

    @Test("a fix after a configuration change says so, not only 'same commits'; an old result without a fingerprint says it cannot tell")
    func configurationFix() throws {
        let before = try Self.cell(), after = try Self.cell(options: "--with-lhv-opt=0xdfc", pass: "LHV in XMHF test iter")
        let old = CellResult(cell: before, outcome: .fail, rule: "halt", reason: "unhandled exception 13", commits: ["lhv": "c1"])
        let new = CellResult(cell: after, outcome: .pass, rule: "pass", reason: "LHV in XMHF test iter 21", commits: ["lhv": "c1"])
        let fix = try #require(FindingsAnalyzer(runID: "now", cells: [new], previousRunID: "before", previousCells: [old]).findings().first)
        #expect(fix.kind == .fix)
        #expect(fix.title == "lhv i386 O0: FAIL in before, passes now (configuration changed: build lhv (variables.options), verdict rules (pass); same commits)")
        #expect(fix.configurationChanges == ["build lhv (variables.options)", "verdict rules (pass)"])
        #expect(fix.detail.contains("configuration changed since before: build lhv (variables.options), verdict rules (pass)"))

        // Commits and configuration both changed.
        var moved = new
        moved.commits = ["lhv": "c2"]
        let both = try #require(FindingsAnalyzer(runID: "now", cells: [moved], previousRunID: "before", previousCells: [old]).findings().first)
        #expect(both.title == "lhv i386 O0: FAIL in before, passes now (lhv c1..c2; configuration changed: build lhv (variables.options), verdict rules (pass))")

        // Same definition, same commits: look elsewhere.
        let same = CellResult(cell: before, outcome: .pass, rule: "pass", reason: "ok", commits: ["lhv": "c1"])
        let plain = try #require(FindingsAnalyzer(runID: "now", cells: [same], previousRunID: "before", previousCells: [old]).findings().first)
        #expect(plain.title.hasSuffix("(same commits: look at the host or the emulator)"))
        #expect(plain.configurationChanges == [])

        var unknown = old
        unknown.configuration = nil
        let legacy = try #require(FindingsAnalyzer(runID: "now", cells: [same], previousRunID: "before", previousCells: [unknown]).findings().first)
        #expect(legacy.title.hasSuffix("(same commits: look at the host or the emulator or the cell's configuration)"))
        #expect(legacy.configurationChanges == nil)
    }

    @Test("through the store: the fingerprint is kept with each cell and the next run's fix names the configuration change")
    func configurationThroughStore() async throws {
        let fixture = try StoreFixture()
        let before = try Self.cell(), after = try Self.cell(options: "--with-lhv-opt=0xdfc", pass: "LHV in XMHF test iter")
        #expect(before.id == after.id, "same axis values, same cell")
        let runs: [(String, CellResult)] = [
            (StoreFixture.previousRun, CellResult(cell: before, outcome: .fail, rule: "halt", reason: "unhandled exception 13", commits: ["lhv": "c1"])),
            (StoreFixture.currentRun, CellResult(cell: after, outcome: .pass, rule: "pass", reason: "LHV in XMHF test iter 21", commits: ["lhv": "c1"])),
        ]
        var findings: [Finding] = []
        for (runID, result) in runs {
            let started = StoreFixture.date(runID)
            try await fixture.store.beginRun(
                id: runID, matrix: "lhv-nightly", matrixPath: "/m.json", trigger: "nightly", hostJSON: "{}", cellIDs: [result.cellID], started: started)
            try await fixture.store.recordCell(runID: runID, result: result)
            findings = try await fixture.store.finishRun(
                id: runID, results: RunResults(runID: runID, matrix: "lhv-nightly", started: started, finished: started, cells: [result]))
        }
        #expect(try await fixture.store.cells(runID: StoreFixture.previousRun).first?.configuration == runs[0].1.configuration)
        let fix = try #require(findings.first)
        #expect(fix.kind == .fix)
        #expect(fix.configurationChanges == ["build lhv (variables.options)", "verdict rules (pass)"])
        let report = await fixture.nestci(["report", StoreFixture.currentRun])
        #expect(report.out.contains("configuration changed: build lhv (variables.options), verdict rules (pass); same commits"))
    }
}

import Foundation
import Matrix

@testable import CIRunner

/// A synthetic but realistic dashboard model: the XMHF64 nightly matrix (45 cells), three
/// runs (newest with an -O3-only failure, one pruned), real evidence files in a temp folder.
enum DashboardFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func cells() throws -> [Cell] {
        try MatrixFile.load(path: root.appendingPathComponent("examples/xmhf64-nightly.json").path).plan().cells
    }

    /// The cell that fails at -O3 only: xmhf-lhv, i386, bochs, smp 1.
    static func isTheBug(_ cell: Cell) -> Bool {
        cell.chain == "xmhf-lhv" && cell.bits == .i386 && cell.backend == .bochs && cell.smp == 1
    }

    static func o0Sibling(of cell: Cell, in cells: [Cell]) -> Cell? {
        cells.first { $0.opt == .O0 && $0.valuesExceptOpt == cell.valuesExceptOpt }
    }

    /// Writes evidence into `store` and returns the runs, newest first.
    static func runs(store: URL) throws -> [DashboardRun] {
        let cells = try cells()
        let commits = ["xmhf64": "d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3", "lhv": "0badc0ffee0badc0ffee0badc0ffee0badc0ffee"]
        let day: TimeInterval = 86_400
        let newest = Date(timeIntervalSince1970: 1_795_573_800)  // 2026-11-25 02:30 UTC
        var runs: [DashboardRun] = []
        for (index, runID) in ["20261125-0230-ab12", "20261124-0230-9f3e", "20261110-0230-1c2d"].enumerated() {
            let started = newest.addingTimeInterval(-Double(index == 2 ? 15 : index) * day)
            var results: [CellResult] = []
            var evidence: [String: DashboardCellEvidence] = [:]
            var findings: [DashboardFinding] = []
            for cell in cells {
                let (outcome, rule, reason, line) = verdict(for: cell, runIndex: index)
                var result = CellResult(
                    cell: cell, outcome: outcome, rule: rule, reason: reason, line: line, secondsToVerdict: outcome == .pass ? 18.4 + Double(cell.smp) * 38 : 61,
                    bootSeconds: 70, commits: commits, attempts: outcome == .flaky ? 2 : 1)
                result.artifacts = ["serial": "\(cell.id)/serial.log"]
                if outcome == .pass, let seconds = result.secondsToVerdict {
                    // XMHF → LHV's milestones (examples/xmhf64-nightly.json); a <b> in a name shows escaping.
                    result.milestones = [
                        MilestoneTime(name: MilestoneTime.firstOutput, seconds: 6.2), MilestoneTime(name: "banner", seconds: 6.9, line: 1),
                        MilestoneTime(name: "runtime <b>", seconds: 21.4 + Double(index), line: 79),
                        MilestoneTime(name: "first-iter", seconds: seconds - 12, line: 388), MilestoneTime(name: MilestoneTime.verdict, seconds: seconds, line: line),
                    ]
                }
                results.append(result)
                if index == 2 { continue }  // pruned: its files are gone
                let folder = store.appendingPathComponent("\(runID)/\(cell.id)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let serial = folder.appendingPathComponent("serial.log")
                try serialLog(cell: cell, outcome: outcome).write(to: serial, atomically: true, encoding: .utf8)
                let reproduce = folder.appendingPathComponent("reproduce.sh")
                try "#!/bin/sh\n# Reproduces cell \(cell.id)\nnestci run examples/xmhf64-nightly.json --only \(cell.id)\n".write(to: reproduce, atomically: true, encoding: .utf8)
                let build = folder.appendingPathComponent("build-xmhf64.log")
                try "gcc -O\(cell.opt.rawValue.dropFirst()) -m32 -c vmx.c\nmake: leaving directory\n".write(to: build, atomically: true, encoding: .utf8)
                var item = DashboardCellEvidence(serialLog: serial.path, buildLogs: ["xmhf64": build.path], reproduceScript: reproduce.path)
                if isTheBug(cell) && cell.opt == .O3 {
                    let vmcs = folder.appendingPathComponent("vmcs.json")
                    try vmcsJSON.write(to: vmcs, atomically: true, encoding: .utf8)
                    item.vmcsJSON = vmcs.path
                    item.o0SiblingID = o0Sibling(of: cell, in: cells)?.id
                    item.vmcsDiff = """
                        VMCS02 of CPU 0, dump #1: 2 of 118 fields differ
                          (0x4016) control_VM_entry_interruption_information   O0 0x00000000   O3 0x80000603
                          (0x681e) guest_RIP                                   O0 0x0010a2c4   O3 0x0010a2c6
                        """
                    item.decidingLine = "CPU(0x00): VM-ENTRY error: reason=0x80000021, qualification=0x0"
                }
                evidence[cell.id] = item
            }
            if index == 0 {
                let bug = cells.filter { isTheBug($0) && $0.opt == .O3 }.map(\.id)
                findings.append(DashboardFinding(
                    kind: .optOnly, title: "xmhf-lhv fails at -O3 only (i386, bochs, smp 1); passes at -O0", cellIDs: bug,
                    detail: "O3: CPU(0x00): VM-ENTRY error: reason=0x80000021, qualification=0x0\nO0: CPU(0x01): LHV in XMHF test iter 21"))
                findings.append(DashboardFinding(
                    kind: .regression, title: "lhv -O2 i386 stopped building since 20261124-0230-9f3e",
                    cellIDs: cells.filter { $0.chain == "lhv" && $0.opt == .O2 }.map(\.id),
                    detail: "lhv.c:88:5: error: array subscript 0 is outside array bounds of 'volatile u16[0]' [-Werror=array-bounds]"))
            }
            runs.append(DashboardRun(
                id: runID, matrix: "xmhf64-nightly", trigger: index == 1 ? "branch xmhf64 moved a1b2c3d → d4e5f6a" : "nightly (daily 02:30 Europe/Zurich)",
                started: started, finished: started.addingTimeInterval(5400 + Double(index) * 300), commits: commits, cells: results,
                findings: findings, artifactsPruned: index == 2, evidence: evidence))
        }
        return runs
    }

    static func verdict(for cell: Cell, runIndex: Int) -> (Outcome, String, String, Int?) {
        // The XMHF chains on qemu-kvm; LHV alone there stays a cell that ran (its INFRA below).
        if cell.chain == "kvm-xmhf-xmhf-debian" || (cell.backend == .qemuKVM && cell.levels.contains { $0.kind == "hypervisor" }) {
            return (.skip, "no-vmx", "qemu-kvm on this host offers no VMX", nil)
        }
        if runIndex == 0 && isTheBug(cell) && cell.opt == .O3 {
            return (.fail, "vm-entry-error", "CPU(0x00): VM-ENTRY error: reason=0x80000021, qualification=0x0", 225)
        }
        if runIndex == 0 && cell.chain == "lhv" && cell.opt == .O2 {
            return (.buildFail, "build", "lhv: make exited 2 (-Werror=array-bounds)", nil)
        }
        if cell.chain == "xmhf-lhv" && cell.bits == .amd64 && cell.smp == 2 && cell.backend == .bochs && cell.opt == .O3 {
            return runIndex == 0 ? (.timeout, "timeout", "no pass marker within 600 s", nil) : (.pass, "pass", "every CPU printed 21 test iterations", 240)
        }
        if cell.chain == "lhv" && cell.backend == .qemuKVM && cell.smp == 2 && cell.bits == .amd64 && cell.opt == .O0 {
            return (.infra, "infra", "qemu-system-x86_64 did not start: /dev/kvm busy", nil)
        }
        if cell.chain == "lhv" && cell.backend == .bochs && cell.smp == 2 && cell.opt == .O3 && cell.bits == .i386 {
            return (.flaky, "pass", "failed once (HALT!), passed on a re-run", 240)
        }
        return (.pass, "pass", "every CPU printed 21 test iterations", 240)
    }

    static func serialLog(cell: Cell, outcome: Outcome) -> String {
        var lines = [
            "eXtensible Modular Hypervisor Framework (XMHF) v6.1.0", "Build revision: d4e5f6a7b8c9",
            "\u{1b}[1mGRUB loading.\u{1b}[0m", "cmdline: <script>alert(\"not escaped\")</script> & more",
        ]
        for iteration in 1...220 { lines.append("CPU(0x0\(iteration % cell.smp)): LHV in XMHF test iter \(iteration)") }
        if outcome == .fail {
            lines.append("CPU(0x00): VM-ENTRY error: reason=0x80000021, qualification=0x0")
            lines.append("CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information = 0x80000603")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Two dumps in the evidence store's `VMCSDumpSet` format.
    static let vmcsJSON = """
        {"dumps": [
          {"cpu": 0, "kind": "VMCS02", "occurrence": 0, "introducedBy": {"number": 225, "text": "CPU(0x00): VM-ENTRY error: reason=0x80000021, qualification=0x0"},
           "fields": [
             {"encoding": "0x4016", "printedName": "control_VM_entry_interruption_information", "prefix": "", "value": "0x80000603", "lineNumber": 226, "sdmName": "VM-entry interruption-information field", "group": "control", "width": "32-bit"},
             {"encoding": "0x681e", "printedName": "guest_RIP", "prefix": "", "value": "0x10a2c6", "lineNumber": 227, "sdmName": "Guest RIP", "group": "guest", "width": "natural"},
             {"encoding": "0x6820", "printedName": "guest_RFLAGS", "prefix": "", "value": "unavailable", "lineNumber": 228}
           ]},
          {"cpu": 0, "kind": "VMCS12", "occurrence": 0, "fields": [
             {"encoding": "0x4016", "printedName": "control_VM_entry_interruption_information", "value": "0x0", "lineNumber": 229}
           ]}
        ], "malformedLines": 0, "malformedLineNumbers": []}
        """
}

import Foundation
import Hypervisor
import Matrix

extension CellRunner {
    /// The boot of `cell` in `folder`: its verdict rules, deadline and milestones.
    func bootRequest(_ cell: Cell, plan: BootPlan, folder: String, vmx: (supported: Bool, reason: String)) -> BootRequest {
        var request = BootRequest(
            plan: plan, rules: cell.verdict, folder: folder, deadline: .seconds(cell.bootTimeoutSeconds),
            hostHasVMX: !cell.needsVMX || vmx.supported, vmxReason: vmx.reason, serialLimit: options.serialLogLimit)
        request.milestones = cell.performance?.milestones ?? []
        return request
    }

    /// Boots a PASS cell once more, after the run's cells (builds and disks come from the
    /// caches), into `<cell>/perf-reboot`: the second measurement a performance finding
    /// needs. Returns `recorded` with the re-boot's timings, or nil when the re-boot did not
    /// pass (its verdict is evidence only: the recorded result stays the cell's result).
    func confirmationBoot(_ cell: Cell, recorded: CellResult) async throws -> CellResult? {
        var evidence = CellEvidence(cell: cell, folder: layout.cell(runID, cell.id))
        var records: [BuildRecord?] = []
        for level in cell.levels {
            guard let spec = level.build else {
                records.append(nil)
                continue
            }
            let record = try await builder.build(spec)
            guard record.status == .passed else { return nil }
            records.append(record)
        }
        let disks = try await makeDisks(cell, records: records, evidence: &evidence)
        try Self.checkNotTornDown()
        let vmx = host.vmxSupport(for: cell.backend, cpuModel: cell.emulator?.cpu)
        let request = bootRequest(cell, plan: cell.bootPlan(disks: disks), folder: "\(evidence.folder)/perf-reboot", vmx: vmx)
        onEvent(.cellBooting(cellID: cell.id, label: "\(cell.levelSummary) (re-boot: timing outside its band)", attempt: recorded.attempts + 1))
        let boot = try await slots.withSlot(priority: .infinity) { await BootRunner.run(request) }
        guard boot.verdict.outcome == .pass else { return nil }
        var copy = recorded
        copy.secondsToVerdict = boot.verdict.seconds
        copy.milestones = boot.milestones
        copy.rates = boot.rates.isEmpty ? nil : boot.rates
        return copy
    }
}

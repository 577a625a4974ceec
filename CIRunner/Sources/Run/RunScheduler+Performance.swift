import Foundation
import Hypervisor
import Matrix

extension RunScheduler {
    /// `slower` / `faster` findings of a finished set of cells. A cell whose timing falls
    /// outside its band is booted once more here, after every cell has finished and before
    /// the findings are written: the least invasive place, since the recorded results, the
    /// slots and the cells' own retries are untouched, and builds and disks are cached by
    /// now. Only a timing outside its band twice is reported. An investigation's run
    /// (trigger `bisect:`/`triage:`) gets none and boots nothing more: its cells are steps,
    /// not nights, and it has no findings of its own.
    static func performanceFindings(
        _ plan: Plan, results: [CellResult], runID: String, host: HostFingerprint, store: ArtifactStore, context: CellRunner
    ) async throws -> [Finding] {
        guard !InvestigationRun.isInvestigation(trigger: context.options.trigger) else { return [] }
        let cells = Dictionary(plan.cells.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var rules: [String: PerformanceRules] = [:]
        var history: [String: [PerformanceSample]] = [:]
        for result in results where !PerformanceAnalyzer.metrics(of: result).isEmpty {
            guard let cell = cells[result.cellID] else { continue }
            let cellRules = cell.performance ?? PerformanceRules()
            rules[cell.id] = cellRules
            // Twice the window: results of another host or configuration are dropped after.
            history[cell.id] = try await store.performanceHistory(
                matrix: plan.matrix, cellID: cell.id, backend: cell.backend, before: runID, limit: cellRules.history * 2 + 4)
        }
        guard !history.isEmpty else { return [] }
        let analyzer = PerformanceAnalyzer(runID: runID, hostKeys: host.performanceKeys, cells: results, rules: rules, history: history)
        var confirmations: [String: CellResult] = [:]
        for suspect in analyzer.suspects {
            guard let cell = cells[suspect.cellID] else { continue }
            do {
                if let again = try await context.confirmationBoot(cell, recorded: suspect) { confirmations[cell.id] = again }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // A re-boot that cannot be made (a disk) confirms nothing: no finding.
                continue
            }
        }
        return analyzer.findings(confirmations: confirmations)
    }
}

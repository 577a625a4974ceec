import Foundation
import Matrix

extension DashboardPublisher {
    /// The findings with each regression's latest bisect (of its cell, in this run) attached.
    static func withBisects(_ findings: [DashboardFinding], _ bisects: [BisectRecord]) -> [DashboardFinding] {
        guard !bisects.isEmpty else { return findings }
        return findings.map { finding in
            guard finding.kind == .regression, let record = bisects.last(where: { finding.cellIDs.contains($0.cellID) }) else { return finding }
            var finding = finding
            finding.bisect = record
            return finding
        }
    }

    /// The investigation runs holding the steps of the bisects shown on `runs`, for their
    /// cell pages (linked from the steps table; not in the index, the grid or any history).
    func investigationRuns(of published: [DashboardRun]) async throws -> [DashboardRun] {
        var templates: [String: [String: String]] = [:]
        for run in published {
            for record in run.findings.compactMap(\.bisect) { templates[record.investigationRunID] = run.commitURLs }
        }
        var runs: [DashboardRun] = []
        for id in templates.keys.sorted() {
            guard let summary = try await store.run(id) else { continue }
            let cells = try await store.cells(runID: id)
            var run = DashboardRun(
                id: id, matrix: summary.matrix, trigger: summary.trigger, started: summary.started, finished: summary.finished,
                status: summary.status, commits: Self.commits(of: cells), cells: cells, evidence: evidence(runID: id, cells: cells, findings: []))
            run.commitURLs = templates[id] ?? [:]
            runs.append(run)
        }
        return runs
    }
}

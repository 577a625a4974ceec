import Foundation
import Matrix

/// Reads the store and writes the dashboard: what `nestci serve` calls after every finished
/// cell (throttled) and after every run.
///
///     let publisher = DashboardPublisher(store: store, folder: "/var/lib/nestci/dashboard")
///     try await publisher.publish()
///
/// Cheap enough for that: the store is read with a few indexed queries per run, evidence is
/// found by listing each cell folder once, and ``Dashboard`` rewrites only pages whose bytes
/// changed and hard-links evidence instead of copying it.
public struct DashboardPublisher: Sendable {
    public var store: ArtifactStore
    /// The dashboard folder.
    public var folder: String
    public var title: String
    public var logger: Logger

    public init(store: ArtifactStore, folder: String, title: String = "nestci", logger: Logger = .discarding) {
        self.store = store
        self.folder = folder
        self.title = title
        self.logger = logger
    }

    /// Writes the dashboard for the `limit` most recent runs (of every matrix). Runs older
    /// than that drop off it (their pages are removed; the store keeps them). A cell's
    /// history covers the published runs.
    public func publish(limit: Int = 100) async throws {
        let runs = try await dashboardRuns(limit: limit)
        try Dashboard(folder: folder, title: title, logger: logger).write(runs: runs, investigations: try await investigationRuns(of: runs))
    }

    /// The dashboard's model of the `limit` most recent runs, newest first.
    public func dashboardRuns(limit: Int = 100) async throws -> [DashboardRun] {
        let pruned = try await store.prunedRuns()
        var runs: [DashboardRun] = []
        for summary in try await store.runs(limit: limit) {
            let cells = try await store.cells(runID: summary.id)
            let findings = try await store.findings(runID: summary.id)
            let isPruned = pruned[summary.id] != nil
            let bisects = try await store.bisects(runID: summary.id)
            var run = DashboardRun(
                id: summary.id, matrix: summary.matrix, trigger: summary.trigger, started: summary.started,
                finished: summary.finished, status: summary.status, commits: Self.commits(of: cells), cells: cells,
                findings: Self.withBisects(
                    Self.withTriages(findings.map(Self.dashboardFinding), try await store.triages(runID: summary.id)), bisects), artifactsPruned: isPruned,
                evidence: isPruned ? [:] : evidence(runID: summary.id, cells: cells, findings: findings))
            run.commitURLs = await store.storedFindingsReport(runID: summary.id)?.commitURLs ?? [:]
            runs.append(run)
        }
        return runs
    }

    // MARK: - Mapping

    static func dashboardFinding(_ finding: Finding) -> DashboardFinding {
        let kind: DashboardFinding.Kind =
            switch finding.kind {
            case .optOnly: .optOnly
            case .regression, .regressionAcrossAxis: .regression
            case .fix: .fixed
            case .slower: .slower
            case .faster: .faster
            }
        // The title line is on the page already; the rest of `text` is detail, commits and diff.
        let detail = finding.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            .map { $0.hasPrefix("  ") ? $0.dropFirst(2) : $0 }.joined(separator: "\n")
        return DashboardFinding(
            kind: kind, title: finding.title, cellIDs: finding.cellIDs, detail: detail, vmcsHeadline: finding.vmcsHeadline, known: finding.known?.link)
    }

    /// One commit per component, as the run page shows it; a component built at several
    /// commits in one run (a revision axis) gets one entry per commit: `minivisor (2 of 2)`.
    static func commits(of cells: [CellResult]) -> [String: String] {
        var result: [String: String] = [:]
        for (component, commits) in ArtifactStore.commits(of: cells) {
            if commits.count == 1 {
                result[component] = commits[0]
            } else {
                for (index, commit) in commits.enumerated() { result["\(component) (\(index + 1) of \(commits.count))"] = commit }
            }
        }
        return result
    }

    // MARK: - Evidence

    /// Where each cell's files are, and for a cell an -O-only finding names as failing, the
    /// VMCS diff against its -O0 sibling.
    func evidence(runID: String, cells: [CellResult], findings: [Finding]) -> [String: DashboardCellEvidence] {
        var result: [String: DashboardCellEvidence] = [:]
        for cell in cells {
            let folder = store.layout.cell(runID, cell.cellID)
            var item = DashboardCellEvidence()
            for name in StoreFiles.regularFiles(in: folder) {
                let path = "\(folder)/\(name)"
                switch name {
                case RunLayout.serialLog: item.serialLog = path
                case RunLayout.vmcsFile: item.vmcsJSON = path
                case RunLayout.reproduceScript: item.reproduceScript = path
                case _ where name.hasPrefix("build-") && name.hasSuffix(".log"):
                    item.buildLogs[String(name.dropFirst("build-".count).dropLast(".log".count))] = path
                default: break
                }
            }
            result[cell.cellID] = item
        }
        let byID = Dictionary(cells.map { ($0.cellID, $0) }, uniquingKeysWith: { first, _ in first })
        let analyzer = FindingsAnalyzer(runID: runID, cells: cells, dumps: store.vmcsLoader())
        for finding in findings where finding.kind == .optOnly {
            let named = finding.cellIDs.compactMap { byID[$0] }
            guard let sibling = named.first(where: { $0.values["opt"] == OptLevel.O0.rawValue && $0.outcome == .pass }) else { continue }
            for cell in named where cell.outcome.isFailure && result[cell.cellID]?.vmcsDiff == nil {
                // The finding carries its first failing cell's diffs (against -O0 first or
                // second); the other failing levels are diffed here, the same way, from their vmcs.json.
                var diff: String?
                if let stored = [finding.vmcsDiff, finding.secondVMCSDiff].compactMap({ $0 })
                    .first(where: { $0.failingCellID == cell.cellID && $0.passingCellID == sibling.cellID })
                {
                    diff = stored.text
                } else {
                    diff = analyzer.vmcsEvidence(passing: [(runID, sibling)], failing: [(runID, cell)])?.text
                }
                guard let diff else { continue }
                result[cell.cellID, default: DashboardCellEvidence()].vmcsDiff = diff
                result[cell.cellID, default: DashboardCellEvidence()].o0SiblingID = sibling.cellID
            }
        }
        return result
    }
}

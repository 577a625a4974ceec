import Foundation
import Matrix

/// One run as the dashboard shows it. Plain values: the service fills them from the store.
public struct DashboardRun: Sendable, Codable {
    /// The run's id, e.g. `20261125-0230-ab12`; also its folder name under `runs/`.
    public var id: String
    /// The matrix's name.
    public var matrix: String
    /// Why it ran: `nightly (daily 02:30 Europe/Zurich)`, `branch xmhf64 moved a1b2c3d → d4e5f6a`, `manual`.
    public var trigger: String
    public var started: Date
    /// Nil while the run is still going.
    public var finished: Date?
    /// Running, finished, or interrupted (its writer died; the cells recorded before stay).
    public var status: RunStatus
    /// Component (or branch) → resolved commit.
    public var commits: [String: String]
    public var cells: [CellResult]
    /// What a person should look at first: -O-only failures, regressions, ...
    public var findings: [DashboardFinding]
    /// Retention removed this run's logs and dumps: results stay, artifact links do not appear.
    public var artifactsPruned: Bool
    /// Per cell id: where its evidence is. Cells without an entry show their result only.
    public var evidence: [String: DashboardCellEvidence]
    /// Component → the matrix's `commitURL` template: its commits are linked there.
    public var commitURLs: [String: String] = [:]

    public init(
        id: String, matrix: String, trigger: String, started: Date, finished: Date? = nil, status: RunStatus? = nil,
        commits: [String: String] = [:], cells: [CellResult], findings: [DashboardFinding] = [], artifactsPruned: Bool = false,
        evidence: [String: DashboardCellEvidence] = [:]
    ) {
        self.id = id
        self.matrix = matrix
        self.trigger = trigger
        self.started = started
        self.finished = finished
        // Callers that only know the times get the status the times imply.
        self.status = status ?? (finished == nil ? .running : .finished)
        self.commits = commits
        self.cells = cells
        self.findings = findings
        self.artifactsPruned = artifactsPruned
        self.evidence = evidence
    }

    /// Cells per outcome.
    public var counts: [Outcome: Int] {
        Dictionary(grouping: cells, by: \.outcome).mapValues(\.count)
    }

    /// A run built from `results.json`.
    public init(_ results: RunResults, trigger: String, commits: [String: String] = [:], findings: [DashboardFinding] = []) {
        self.init(
            id: results.runID, matrix: results.matrix, trigger: trigger, started: results.started, finished: results.finished,
            commits: commits, cells: results.cells, findings: findings)
    }
}

/// Something the run found that a person should read before the grid.
public struct DashboardFinding: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Fails at some -O levels and passes at -O0 (the bug nestci exists for).
        case optOnly = "opt-only"
        /// Passed in the previous run of this matrix, fails now.
        case regression
        /// Failed before, passes now.
        case fixed
        /// Failed, then passed on a re-run.
        case flaky
        /// The harness failed (not the hypervisor).
        case infra
        /// A passing cell took longer than its history's band, twice (issue 15).
        case slower
        /// Quicker than its band, twice: an optimisation confirmed.
        case faster
        case other
    }

    public var kind: Kind
    /// One line: `lhv fails at -O3 only (i386, bochs, smp 1)`.
    public var title: String
    /// The cells it is about (linked from the finding).
    public var cellIDs: [String]
    /// More text (shown preformatted): the first differing VMCS fields, the deciding lines.
    public var detail: String
    /// The VMCS diff's telling fields in one line (``Finding/vmcsHeadline``), shown under the
    /// title and in the webhook's chat text; nil when there is none.
    public var vmcsHeadline: String?
    /// The known issue's link when the failure matches one (shown apart from new findings,
    /// as "known: LINK"); nil for a new finding.
    public var known: String? = nil
    /// The -O triage of the finding's cell, a line each (flags, units, cost); nil when none ran.
    public var triage: [String]? = nil
    /// The bisect of a regression's cell (culprit, confidence, cost, steps); nil when none ran.
    public var bisect: BisectRecord? = nil

    public init(kind: Kind, title: String, cellIDs: [String], detail: String = "", vmcsHeadline: String? = nil, known: String? = nil) {
        self.kind = kind
        self.title = title
        self.cellIDs = cellIDs
        self.detail = detail
        self.vmcsHeadline = vmcsHeadline
        self.known = known
    }

    /// The title as chat reads it: a timing finding says which way it went
    /// (`slower: xmhf-lhv O3/i386 time to pass 80 s → 127 s (…)`), the others are their title.
    public var headline: String {
        kind == .slower || kind == .faster ? "\(kind.rawValue): \(title)" : title
    }
}

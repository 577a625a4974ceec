import Foundation
import Matrix

/// One investigation the service runs by itself after a night's runs: a bisection of a new
/// regression, or a -O triage of a new -O-only finding. Kept in the store (table
/// `investigation_jobs`) so it survives SIGKILL and restart.
public struct InvestigationJob: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case bisect, triage }
    public enum State: String, Sendable, Codable { case queued, running, done, cancelled, failed }

    /// Store row id; `nestci cancel job-ID`.
    public var id: Int64
    public var kind: Kind
    public var matrix: String
    public var matrixPath: String
    /// The run and cell the finding is about.
    public var runID: String
    public var cellID: String
    /// The failure's signature text, and the commit range (`comp a..b` per moved component;
    /// empty for an -O-only finding): two jobs with the same key are the same investigation.
    public var signature: String
    public var range: String
    public var state: State
    public var requested: Date
    public var cancelRequested: Bool
    /// The limits it runs under (from the matrix's service settings when it was queued).
    public var limits: Limits
    /// What it found or why it stopped (the record's result line).
    public var message: String?

    /// `maxSteps`/`maxHours` of a bisect, `maxBuilds` of a triage.
    public struct Limits: Sendable, Codable, Equatable {
        public var maxSteps: Int?
        public var maxHours: Double?
        public var maxBuilds: Int?
        public init(maxSteps: Int? = nil, maxHours: Double? = nil, maxBuilds: Int? = nil) {
            self.maxSteps = maxSteps
            self.maxHours = maxHours
            self.maxBuilds = maxBuilds
        }
    }

    /// `job-12`, as `nestci cancel` and `nestci queue` name it.
    public var name: String { "job-\(id)" }

    /// Same investigation: kind, matrix, cell, signature and commit range.
    public var dedupeKey: String { Self.dedupeKey(kind: kind, matrix: matrix, cellID: cellID, signature: signature, range: range) }

    static func dedupeKey(kind: Kind, matrix: String, cellID: String, signature: String, range: String) -> String {
        [kind.rawValue, matrix, cellID, signature, range].joined(separator: "\u{1f}")
    }

    public init(
        id: Int64 = 0, kind: Kind, matrix: String, matrixPath: String, runID: String, cellID: String, signature: String, range: String,
        state: State = .queued, requested: Date = Date(), cancelRequested: Bool = false, limits: Limits = Limits(), message: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.matrix = matrix
        self.matrixPath = matrixPath
        self.runID = runID
        self.cellID = cellID
        self.signature = signature
        self.range = range
        self.state = state
        self.requested = requested
        self.cancelRequested = cancelRequested
        self.limits = limits
        self.message = message
    }

    /// The jobs a finished run's findings ask for: one bisect per new regression (not a
    /// known issue), one triage per new -O-only finding, when the matrix's settings say
    /// `auto`. Pure: the service then drops those already in the store (same ``dedupeKey``).
    public static func jobs(
        for findings: [Finding], cells: [CellResult], runID: String, matrix: ServiceConfig.MatrixEntry, now: Date
    ) -> [InvestigationJob] {
        let byID = Dictionary(cells.map { ($0.cellID, $0) }, uniquingKeysWith: { first, _ in first })
        var jobs: [InvestigationJob] = []
        for finding in findings where finding.known == nil {
            let kind: Kind
            switch finding.kind {
            case .regression where matrix.bisect.auto: kind = .bisect
            case .optOnly where matrix.triage.auto: kind = .triage
            default: continue
            }
            // The failing cell of this run: a regression's only cell; an -O-only finding's
            // first failing level.
            guard let verdict = finding.verdicts.first(where: { $0.runID == runID && $0.outcome.isFailure }), let cell = byID[verdict.cellID] else { continue }
            let range = finding.commits.map { "\($0.component) \($0.before ?? "none")..\($0.after ?? "none")" }.joined(separator: ", ")
            let limits =
                kind == .bisect
                ? Limits(maxSteps: matrix.bisect.maxSteps, maxHours: matrix.bisect.maxHours) : Limits(maxBuilds: matrix.triage.maxBuilds)
            jobs.append(
                InvestigationJob(
                    kind: kind, matrix: matrix.name, matrixPath: matrix.path, runID: runID, cellID: cell.cellID,
                    signature: FindingsAnalyzer.signatureText(cell), range: range, requested: now, limits: limits))
        }
        // Bisections first: a triage runs after any bisection (the store orders by kind, then id).
        return jobs.filter { $0.kind == .bisect } + jobs.filter { $0.kind == .triage }
    }
}

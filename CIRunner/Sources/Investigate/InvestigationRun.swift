import Foundation
import Matrix

/// The store run that holds an investigation's steps (a bisection's or a triage's boots):
/// an ordinary run, so `nestci show/fetch` work on its cells, whose trigger says whose it
/// is (`bisect:<id>`, `triage:<id>`).
///
/// It is not part of its matrix's history: not a previous run (``ArtifactStore/previousRun(matrix:before:)``),
/// not in a cell's history, not in `runs` listings unless asked, and it has no findings.
public struct InvestigationRun: Sendable, Codable, Hashable {
    /// The store run id.
    public var runID: String
    /// `bisect:<id>` or `triage:<id>`.
    public var trigger: String
    /// The matrix of the investigated run.
    public var matrix: String

    /// Triggers of investigation runs start with one of these.
    public static let triggerPrefixes = ["bisect:", "triage:"]

    /// True for an investigation run's trigger.
    public static func isInvestigation(trigger: String) -> Bool {
        triggerPrefixes.contains { trigger.hasPrefix($0) }
    }

    /// SQL condition on the `runs` table: not an investigation run.
    static let notInvestigationSQL =
        "(" + triggerPrefixes.map { "trigger NOT LIKE '\($0)%'" }.joined(separator: " AND ") + ")"

    /// The investigation's run, taken over if it exists (a resumed investigation, its
    /// recorded steps kept), else begun.
    ///
    /// - Parameters:
    ///   - kind: `bisect` or `triage`.
    ///   - id: the investigation's id (letters, digits, `-`, `_`, `.`).
    public static func open(
        store: ArtifactStore, kind: String, id: String, matrix: String, matrixPath: String, hostJSON: String
    ) async throws -> InvestigationRun {
        let trigger = "\(kind):\(id)"
        if let existing = try await store.investigationRunID(trigger: trigger) {
            _ = try await store.resumeInvestigationRun(existing)
            return InvestigationRun(runID: existing, trigger: trigger, matrix: matrix)
        }
        let runID = ArtifactStore.newRunID()
        try await store.beginRun(id: runID, matrix: matrix, matrixPath: matrixPath, trigger: trigger, hostJSON: hostJSON, cellIDs: [])
        return InvestigationRun(runID: runID, trigger: trigger, matrix: matrix)
    }

    /// Marks the run finished (results.json written), without findings.
    public func finish(store: ArtifactStore) async throws {
        try await store.finishInvestigationRun(runID)
    }
}

extension ArtifactStore {
    /// The newest run with `trigger` (an investigation's), if any.
    public func investigationRunID(trigger: String) throws -> String? {
        try database.query("SELECT id FROM runs WHERE trigger = ? ORDER BY id DESC LIMIT 1", [.text(trigger)]).first?.string("id")
    }

    /// Ends an investigation run: `results.json` from its recorded cells, status finished,
    /// and no findings (its cells are steps, not a nightly's regressions).
    public func finishInvestigationRun(_ id: String) throws {
        guard let summary = try run(id) else { throw StoreError(.notFound, "no run \(id) in \(root); `nestci runs --all` lists them") }
        let recorded = try cells(runID: id)
        let results = RunResults(runID: id, matrix: summary.matrix, started: summary.started, finished: Date(), cells: recorded)
        try AtomicFile.writeJSON(results, to: "\(layout.run(id))/\(RunLayout.resultsFile)")
        let runFiles = try scanArtifacts(runID: id, cellID: nil)
        try database.transaction {
            try database.execute(
                "UPDATE runs SET status = 'finished', finished = ?, commits_json = ?, n_findings = 0 WHERE id = ?",
                [.real(results.finished.timeIntervalSince1970), .text(try StoreFiles.jsonText(Self.commits(of: recorded))), .text(id)])
            try database.execute("DELETE FROM artifacts WHERE run_id = ? AND cell_id IS NULL", [.text(id)])
            try insert(runFiles)
            try refreshCounts(id)
        }
    }

    /// One recorded cell of a run, or nil.
    public func cell(runID: String, cellID: String) throws -> CellResult? {
        try database.query("SELECT cell_id, result_json FROM cells WHERE run_id = ? AND cell_id = ?", [.text(runID), .text(cellID)])
            .first.flatMap { try Self.decodeCell(runID: runID, $0) }
    }
}

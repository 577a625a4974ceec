import Foundation
import Matrix

extension ArtifactStore {
    /// One cell's results in finished runs of `matrix` before `runID` (all runs when nil),
    /// newest first, each with its run's host key for `backend` (what performance findings
    /// and `nestci perf` compare). Investigation runs (bisect/triage steps) are left out:
    /// their boots are not the matrix's nights.
    public func performanceHistory(matrix: String, cellID: String, backend: Backend, before runID: String? = nil, limit: Int = 60) throws -> [PerformanceSample] {
        try database.query(
            """
            SELECT runs.id AS run_id, runs.started AS started, runs.host_json AS host_json, cells.cell_id AS cell_id,
                   cells.result_json AS result_json
            FROM cells JOIN runs ON runs.id = cells.run_id
            WHERE cells.cell_id = ? AND runs.matrix = ? AND runs.status = 'finished' AND runs.id < ?
              AND \(InvestigationRun.notInvestigationSQL) ORDER BY runs.id DESC LIMIT ?
            """, [.text(cellID), .text(matrix), .text(runID ?? "\u{10FFFF}"), SQLValue(limit)]
        ).compactMap { row in
            let id = try row.string("run_id")
            guard let result = try Self.decodeCell(runID: id, row) else { return nil }
            // A host fingerprint that does not decode matches no other: its timings stand alone.
            let host = try? JSONDecoder().decode(HostFingerprint.self, from: Data(try row.string("host_json").utf8))
            return PerformanceSample(
                runID: id, started: Self.startTime(runID: id, stored: row["started"]?.double),
                hostKey: host?.performanceKey(for: backend) ?? "unknown host of \(id)", result: result)
        }
    }
}

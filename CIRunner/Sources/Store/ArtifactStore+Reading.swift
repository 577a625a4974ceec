import Foundation
import Matrix

/// Reading the index: what `nestci runs`, `show`, `report` and `fetch` need.
extension ArtifactStore {
    static let summarySelect = """
        SELECT id, matrix, matrix_path, trigger, started, finished, status, writer_pid, writer_host, planned_cells,
               n_pass, n_fail, n_timeout, n_build_fail, n_infra, n_skip, n_flaky, n_findings FROM runs
        """

    /// The most recent runs first (run ids sort by start time), optionally of one matrix.
    public func runs(limit: Int = 50, matrix: String? = nil) throws -> [RunSummary] {
        if let matrix {
            return try database.query("\(Self.summarySelect) WHERE matrix = ? ORDER BY id DESC LIMIT ?", [.text(matrix), SQLValue(limit)])
                .map(summary)
        }
        return try database.query("\(Self.summarySelect) ORDER BY id DESC LIMIT ?", [SQLValue(limit)]).map(summary)
    }

    /// One run, or nil when the store has no such id.
    public func run(_ id: String) throws -> RunSummary? {
        try database.query("\(Self.summarySelect) WHERE id = ?", [.text(id)]).first.map(summary)
    }

    /// The run of `matrix` started just before run `before` (finished or interrupted; one
    /// still running elsewhere is skipped): what regressions are measured against.
    public func previousRun(matrix: String, before runID: String) throws -> RunSummary? {
        try database.query(
            "\(Self.summarySelect) WHERE matrix = ? AND id < ? AND status != 'running' ORDER BY id DESC LIMIT 1",
            [.text(matrix), .text(runID)]
        ).first.map(summary)
    }

    /// The recorded cells of a run, in the order they were recorded.
    public func cells(runID: String) throws -> [CellResult] {
        try database.query("SELECT result_json FROM cells WHERE run_id = ? ORDER BY rowid", [.text(runID)]).map {
            try StoreFiles.decode(CellResult.self, json: try $0.string("result_json"))
        }
    }

    /// The findings of a run: `findings.json` once it finished; for a run still running or
    /// interrupted, computed from the cells recorded so far (not written anywhere).
    public func findings(runID: String) throws -> [Finding] {
        let file = "\(layout.run(runID))/\(RunLayout.findingsFile)"
        if StoreFiles.isRegularFile(file) {
            return try StoreFiles.decode(FindingsReport.self, file: file).findings
        }
        guard let summary = try run(runID) else { return [] }
        let previous = try previousRun(matrix: summary.matrix, before: runID)
        return FindingsAnalyzer(
            runID: runID, cells: try cells(runID: runID), previousRunID: previous?.id,
            previousCells: try previous.map { try cells(runID: $0.id) } ?? [], dumps: vmcsLoader()
        ).findings()
    }

    /// One cell's results across the most recent runs of `matrix`, newest first.
    public func history(matrix: String, cellID: String, limit: Int = 30) throws -> [CellHistoryEntry] {
        try database.query(
            """
            SELECT runs.id AS run_id, runs.started AS started, cells.result_json AS result_json
            FROM cells JOIN runs ON runs.id = cells.run_id
            WHERE cells.cell_id = ? AND runs.matrix = ? ORDER BY runs.id DESC LIMIT ?
            """, [.text(cellID), .text(matrix), SQLValue(limit)]
        ).map {
            CellHistoryEntry(
                runID: try $0.string("run_id"), started: Date(timeIntervalSince1970: try $0.double("started")),
                result: try StoreFiles.decode(CellResult.self, json: try $0.string("result_json")))
        }
    }

    /// Indexed artifacts of a run (all, or one cell's; `cellID: nil` with `runLevel` gives the
    /// run's own files).
    public func artifacts(runID: String, cellID: String? = nil) throws -> [StoredArtifact] {
        let rows: [Row]
        if let cellID {
            rows = try database.query("SELECT * FROM artifacts WHERE run_id = ? AND cell_id = ? ORDER BY path", [.text(runID), .text(cellID)])
        } else {
            rows = try database.query("SELECT * FROM artifacts WHERE run_id = ? ORDER BY path", [.text(runID)])
        }
        return try rows.map {
            StoredArtifact(
                runID: try $0.string("run_id"), cellID: try $0.isNull("cell_id") ? nil : try $0.string("cell_id"),
                kind: try $0.string("kind"), path: try $0.string("path"), bytes: try $0.int("bytes"), sha256: try $0.string("sha256"))
        }
    }

    /// The commits a run saw per component (filled when it finishes or is marked interrupted).
    public func commits(runID: String) throws -> [String: [String]] {
        guard let text = try database.query("SELECT commits_json FROM runs WHERE id = ?", [.text(runID)]).first?.string("commits_json") else {
            return [:]
        }
        return try StoreFiles.decode([String: [String]].self, json: text)
    }

    /// The host fingerprint JSON given to `beginRun`.
    public func hostJSON(runID: String) throws -> String? {
        try database.query("SELECT host_json FROM runs WHERE id = ?", [.text(runID)]).first?.string("host_json")
    }

    func summary(_ row: Row) throws -> RunSummary {
        let stored = RunStatus(rawValue: try row.string("status")) ?? .running
        var status = stored
        if stored == .running, try !row.isNull("writer_pid"),
            Self.isDead(pid: Int32(try row.int64("writer_pid")), host: try row.isNull("writer_host") ? nil : try row.string("writer_host"))
        {
            status = .interrupted
        }
        var counts: [String: Int] = [:]
        for outcome in Outcome.allCases {
            let count = try row.int(outcome.countColumn)
            if count > 0 { counts[outcome.rawValue] = count }
        }
        return RunSummary(
            id: try row.string("id"), matrix: try row.string("matrix"), matrixPath: try row.string("matrix_path"),
            trigger: try row.string("trigger"), started: Date(timeIntervalSince1970: try row.double("started")),
            finished: try row.isNull("finished") ? nil : Date(timeIntervalSince1970: try row.double("finished")),
            status: status, storedStatus: stored, plannedCells: try row.int("planned_cells"), counts: counts,
            findingCount: try row.int("n_findings"))
    }

    /// A writer is known dead only on this host, when its pid no longer exists. (A pid can be
    /// reused; a reused pid makes a dead run look alive, which is the safe mistake.)
    static func isDead(pid: Int32, host: String?) -> Bool {
        guard host == hostName, pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

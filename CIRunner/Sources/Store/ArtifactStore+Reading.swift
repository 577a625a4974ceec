import Foundation
import Matrix

/// Reading the index: what `nestci runs`, `show`, `report` and `fetch` need.
extension ArtifactStore {
    /// Columns in the order `summary(_:)` reads them; the counts follow ``Outcome/allCases``.
    static let summarySelect =
        "SELECT id, matrix, matrix_path, trigger, started, finished, status, writer_pid, writer_host, planned_cells, "
        + Outcome.allCases.map(\.countColumn).joined(separator: ", ") + ", n_findings FROM runs"

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

    /// The finished run of `matrix` started just before run `before`: what regressions are
    /// measured against.
    public func previousRun(matrix: String, before runID: String) throws -> RunSummary? {
        try database.query(
            // Only a finished run: an interrupted or cancelled one is partial, its torn-down
            // cells unrecorded, so it is never "the previous run" of a regression or a fix.
            "\(Self.summarySelect) WHERE matrix = ? AND id < ? AND status = 'finished' ORDER BY id DESC LIMIT 1",
            [.text(matrix), .text(runID)]
        ).first.map(summary)
    }

    /// The recorded cells of a run, in plan order (run.json's cell list: axis values as the
    /// matrix lists them, which tables and the axis findings' baseline rely on); cells the
    /// list lacks come last, in the order they were recorded.
    public func cells(runID: String) throws -> [CellResult] {
        let recorded = try database.query("SELECT result_json FROM cells WHERE run_id = ? ORDER BY rowid", [.text(runID)]).map {
            try StoreFiles.decode(CellResult.self, json: try $0.string("result_json"))
        }
        return Self.inPlanOrder(recorded, plan: planOrder(runID: runID))
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

    /// Indexed artifacts of a run: all of them (run-level files have a nil `cellID`), or one cell's.
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

    /// Reads a row of `summarySelect` by position: listing 10,000 runs must not look every
    /// column up by name.
    func summary(_ row: Row) throws -> RunSummary {
        let v = row.values
        guard v.count == 11 + Outcome.allCases.count, let id = v[0].string, let matrix = v[1].string, let matrixPath = v[2].string,
            let trigger = v[3].string, let started = v[4].double, let statusText = v[6].string, let planned = v[9].int64
        else {
            throw RowError(message: "a runs row does not have the expected columns (\(row.columns.joined(separator: ", ")))")
        }
        let stored = RunStatus(rawValue: statusText) ?? .running
        var status = stored
        if stored == .running, let pid = v[7].int64, Self.isDead(pid: Int32(truncatingIfNeeded: pid), host: v[8].string) {
            status = .interrupted
        }
        var counts: [String: Int] = [:]
        for (offset, outcome) in Outcome.allCases.enumerated() {
            let count = Int(v[10 + offset].int64 ?? 0)
            if count > 0 { counts[outcome.rawValue] = count }
        }
        return RunSummary(
            id: id, matrix: matrix, matrixPath: matrixPath, trigger: trigger, started: Date(timeIntervalSince1970: started),
            finished: v[5].double.map(Date.init(timeIntervalSince1970:)), status: status, storedStatus: stored,
            plannedCells: Int(planned), counts: counts, findingCount: Int(v[10 + Outcome.allCases.count].int64 ?? 0))
    }

    /// A writer is known dead only on this host, when its pid no longer exists. (A pid can be
    /// reused; a reused pid makes a dead run look alive, which is the safe mistake.)
    static func isDead(pid: Int32, host: String?) -> Bool {
        guard host == hostName, pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

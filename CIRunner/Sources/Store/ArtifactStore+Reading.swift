import Foundation
import Matrix

/// Reading the index: what `nestci runs`, `show`, `report` and `fetch` need.
extension ArtifactStore {
    /// Columns in the order `summary(_:)` reads them; the counts follow ``Outcome/allCases``.
    static let summarySelect =
        "SELECT id, matrix, matrix_path, trigger, started, finished, status, writer_pid, writer_host, planned_cells, "
        + Outcome.allCases.map(\.countColumn).joined(separator: ", ") + ", n_findings FROM runs"

    /// The most recent runs first (run ids sort by start time), optionally of one matrix.
    /// Investigation runs (bisect/triage steps, ``InvestigationRun``) only with
    /// `investigations`: they are not part of a matrix's nightly history.
    public func runs(limit: Int = 50, matrix: String? = nil, investigations: Bool = false) throws -> [RunSummary] {
        let filter = investigations ? "1" : InvestigationRun.notInvestigationSQL
        if let matrix {
            return try database.query(
                "\(Self.summarySelect) WHERE matrix = ? AND \(filter) ORDER BY id DESC LIMIT ?", [.text(matrix), SQLValue(limit)]
            ).map(summary)
        }
        return try database.query("\(Self.summarySelect) WHERE \(filter) ORDER BY id DESC LIMIT ?", [SQLValue(limit)]).map(summary)
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
            // Nor is an investigation's run (bisect/triage steps at other commits or flags).
            "\(Self.summarySelect) WHERE matrix = ? AND id < ? AND status = 'finished' AND \(InvestigationRun.notInvestigationSQL) ORDER BY id DESC LIMIT 1",
            [.text(matrix), .text(runID)]
        ).first.map(summary)
    }

    /// The recorded cells of a run, in plan order (run.json's cell list: axis values as the
    /// matrix lists them, which tables and the axis findings' baseline rely on); cells the
    /// list lacks come last, in the order they were recorded.
    /// A cell whose `result_json` is damaged is left out, and reported (``StoreDamage``).
    public func cells(runID: String) throws -> [CellResult] {
        let recorded = try database.query("SELECT cell_id, result_json FROM cells WHERE run_id = ? ORDER BY rowid", [.text(runID)]).compactMap {
            try Self.decodeCell(runID: runID, $0)
        }
        return Self.inPlanOrder(recorded, plan: planOrder(runID: runID))
    }

    /// A cells row's result, or nil (reported) when its `result_json` does not decode.
    static func decodeCell(runID: String, _ row: Row) throws -> CellResult? {
        let cellID = (try? row.string("cell_id")) ?? "?"
        do {
            return try StoreFiles.decode(CellResult.self, json: try row.string("result_json"))
        } catch {
            StoreDamage.report(
                "run \(runID), cell \(cellID): its stored result (cells.result_json) is damaged: \(StoreDamage.describe(error)); "
                    + "the cell is left out (its result.json in the run folder may still be whole)")
            return nil
        }
    }

    /// The findings of a run: `findings.json` once it finished; for a run still running or
    /// interrupted, computed from the cells recorded so far (not written anywhere).
    public func findings(runID: String) throws -> [Finding] {
        let file = "\(layout.run(runID))/\(RunLayout.findingsFile)"
        if StoreFiles.isRegularFile(file) {
            do {
                return try StoreFiles.decode(FindingsReport.self, file: file).findings
            } catch {
                StoreDamage.report("\(file) is damaged: \(StoreDamage.describe(error)); its findings are computed again from the run's cells")
            }
        }
        guard let summary = try run(runID), !InvestigationRun.isInvestigation(trigger: summary.trigger) else { return [] }
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
            SELECT runs.id AS run_id, runs.started AS started, cells.cell_id AS cell_id, cells.result_json AS result_json
            FROM cells JOIN runs ON runs.id = cells.run_id
            WHERE cells.cell_id = ? AND runs.matrix = ? AND \(InvestigationRun.notInvestigationSQL) ORDER BY runs.id DESC LIMIT ?
            """, [.text(cellID), .text(matrix), SQLValue(limit)]
        ).compactMap {
            let runID = try $0.string("run_id")
            guard let result = try Self.decodeCell(runID: runID, $0) else { return nil }
            return CellHistoryEntry(runID: runID, started: Self.startTime(runID: runID, stored: $0["started"]?.double), result: result)
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
        var finished = v[5].double
        if let time = finished, !StoreDamage.isPlausibleTime(time) {
            StoreDamage.report("runs row \(id): finished = \(time) is not a time; shown as not finished")
            finished = nil
        }
        return RunSummary(
            id: id, matrix: matrix, matrixPath: matrixPath, trigger: trigger, started: Self.startTime(runID: id, stored: started),
            finished: finished.map(Date.init(timeIntervalSince1970:)), status: status, storedStatus: stored,
            plannedCells: Int(planned), counts: counts, findingCount: Int(v[10 + Outcome.allCases.count].int64 ?? 0))
    }

    /// A run's stored start time; a damaged one (not a plausible time) is reported and
    /// replaced by the time in the run id (`YYYYMMDD-HHMMSS-…`, UTC), or 1970 failing that.
    static func startTime(runID: String, stored: Double?) -> Date {
        if let stored, StoreDamage.isPlausibleTime(stored) { return Date(timeIntervalSince1970: stored) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let fromID = formatter.date(from: String(runID.prefix(15)))
        StoreDamage.report(
            "runs row \(runID): started = \(stored.map { "\($0)" } ?? "NULL") is not a time; "
                + (fromID != nil ? "using the time in the run id" : "shown as 1970-01-01"))
        return fromID ?? Date(timeIntervalSince1970: 0)
    }

    /// A writer is known dead only on this host, when its pid no longer exists. (A pid can be
    /// reused; a reused pid makes a dead run look alive, which is the safe mistake.)
    static func isDead(pid: Int32, host: String?) -> Bool {
        guard host == hostName, pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

import Foundation

/// Bisect records in the store (table `bisects`).
extension ArtifactStore {
    /// Inserts or replaces a bisect record. This process is its writer: only the process
    /// running a bisect saves it.
    public func saveBisect(_ record: BisectRecord) throws {
        try database.execute(
            "INSERT OR REPLACE INTO bisects(id, run_id, cell_id, status, updated, record_json, writer_pid, writer_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(record.id), .text(record.runID), .text(record.cellID), .text(record.status.rawValue),
             .real(Date().timeIntervalSince1970), .text(try StoreFiles.jsonText(record)), SQLValue(Int(getpid())), .text(Self.hostName)])
    }

    /// Throws `inUse` when bisect `id` is running in another live process: one process
    /// runs a bisect (its record and steps would be written by two).
    public func checkBisectNotRunningElsewhere(_ id: String) throws {
        guard let row = try database.query("SELECT status, writer_pid, writer_host FROM bisects WHERE id = ?", [.text(id)]).first,
            try row.string("status") == BisectRecord.Status.running.rawValue, let pid = row["writer_pid"]?.int64,
            let writer = Self.otherLiveWriter(pid: pid, host: row["writer_host"]?.string)
        else { return }
        throw StoreError(.inUse, "bisect \(id) is already running in \(writer): wait for it, or stop it first")
    }

    /// A bisect already in the store that answers `job` (same matrix, cell, signature and
    /// commit range, ``BisectRecord/covers(signature:range:)``), whoever ran it (`nestci
    /// bisect` or the service): a finished one, or one running in a live process (its writer
    /// alive, or on another host, as a run's writer counts). One left running by a dead
    /// process does not count: the job takes it up.
    public func bisectCovering(_ job: InvestigationJob) throws -> BisectRecord? {
        let rows = try database.query(
            "SELECT status, writer_pid, writer_host, record_json FROM bisects WHERE cell_id = ? AND status IN ('finished', 'running') ORDER BY rowid",
            [.text(job.cellID)])
        for row in rows {
            let record = try StoreFiles.decode(BisectRecord.self, json: try row.string("record_json"))
            guard record.matrix == job.matrix, record.covers(signature: job.signature, range: job.range) else { continue }
            if try row.string("status") == BisectRecord.Status.finished.rawValue { return record }
            // A record from before writers were kept (NULL) cannot be told alive: not counted.
            if let pid = row["writer_pid"]?.int64, !Self.isDead(pid: Int32(truncatingIfNeeded: pid), host: row["writer_host"]?.string) {
                return record
            }
        }
        return nil
    }

    /// The bisect record with `id`, if any.
    public func bisect(id: String) throws -> BisectRecord? {
        try database.query("SELECT record_json FROM bisects WHERE id = ?", [.text(id)]).first.map {
            try StoreFiles.decode(BisectRecord.self, json: try $0.string("record_json"))
        }
    }

    /// The bisects of a run (optionally of one cell), oldest first.
    public func bisects(runID: String, cellID: String? = nil) throws -> [BisectRecord] {
        let rows =
            if let cellID {
                try database.query("SELECT record_json FROM bisects WHERE run_id = ? AND cell_id = ? ORDER BY rowid", [.text(runID), .text(cellID)])
            } else {
                try database.query("SELECT record_json FROM bisects WHERE run_id = ? ORDER BY rowid", [.text(runID)])
            }
        return try rows.map { try StoreFiles.decode(BisectRecord.self, json: try $0.string("record_json")) }
    }
}

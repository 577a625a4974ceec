import Foundation

/// Triage records in the store (table `triages`).
extension ArtifactStore {
    /// Inserts or replaces a triage record.
    public func saveTriage(_ record: TriageRecord) throws {
        try database.execute(
            "INSERT OR REPLACE INTO triages(id, run_id, cell_id, status, updated, record_json) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(record.id), .text(record.runID), .text(record.cellID), .text(record.status.rawValue),
             .real(Date().timeIntervalSince1970), .text(try StoreFiles.jsonText(record))])
    }

    /// The triage record with `id`, if any.
    public func triage(id: String) throws -> TriageRecord? {
        try database.query("SELECT record_json FROM triages WHERE id = ?", [.text(id)]).first.map {
            try StoreFiles.decode(TriageRecord.self, json: try $0.string("record_json"))
        }
    }

    /// The triages of a run (optionally of one cell), oldest first.
    public func triages(runID: String, cellID: String? = nil) throws -> [TriageRecord] {
        var sql = "SELECT record_json FROM triages WHERE run_id = ?"
        var values: [SQLValue] = [.text(runID)]
        if let cellID {
            sql += " AND cell_id = ?"
            values.append(.text(cellID))
        }
        return try database.query(sql + " ORDER BY rowid", values).map { try StoreFiles.decode(TriageRecord.self, json: try $0.string("record_json")) }
    }
}

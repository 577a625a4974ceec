import Foundation

/// Bisect records in the store (table `bisects`).
extension ArtifactStore {
    /// Inserts or replaces a bisect record.
    public func saveBisect(_ record: BisectRecord) throws {
        try database.execute(
            "INSERT OR REPLACE INTO bisects(id, run_id, cell_id, status, updated, record_json) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(record.id), .text(record.runID), .text(record.cellID), .text(record.status.rawValue),
             .real(Date().timeIntervalSince1970), .text(try StoreFiles.jsonText(record))])
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

/// Schema versions, kept in SQLite's `PRAGMA user_version`.
extension Database {
    /// The schema version recorded in the file (0 for a new database).
    public func userVersion() throws -> Int {
        try query("PRAGMA user_version").first?[0].int64.map(Int.init) ?? 0
    }

    /// Applies the migrations the file has not seen yet, in order, in one transaction, and
    /// returns the resulting version. `migrations[i]` takes the schema from version `i` to
    /// `i + 1`; each may hold several statements. Running it again is a no-op, and two
    /// processes migrating at once serialize on the write lock (the version is re-read after
    /// `BEGIN IMMEDIATE`), so each step runs exactly once.
    ///
    /// Append new migrations; never edit or reorder released ones, because files in the field
    /// have already recorded them by position.
    @discardableResult
    public func migrate(_ migrations: [String]) throws -> Int {
        // Cheap check without the write lock: most opens find nothing to do.
        if try userVersion() == migrations.count { return migrations.count }
        return try transaction {
            let current = try userVersion()
            guard current <= migrations.count else {
                throw DatabaseError(
                    code: .migration,
                    message: "the database is at schema version \(current) but this nestci knows only "
                        + "\(migrations.count); use the nestci that wrote it or a fresh database file",
                    path: path)
            }
            for version in current..<migrations.count {
                do {
                    try executeScript(migrations[version])
                } catch var error as DatabaseError {
                    error.message = "migration \(version) → \(version + 1) failed: \(error.message)"
                    throw error
                }
            }
            // A pragma takes no parameters; the value is our own integer, not input.
            try executeScript("PRAGMA user_version = \(migrations.count)")
            return migrations.count
        }
    }
}

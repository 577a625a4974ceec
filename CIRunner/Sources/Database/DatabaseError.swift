/// A failed SQLite call: the SQLite message, the SQL that failed, and what to do about it.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly; `sqliteCode` has SQLite's own (extended) result code.
    public enum Code: String, Sendable {
        case open, locked, prepare, bind, step, migration, notWAL
    }

    public var code: Code
    /// SQLite's extended result code, or 0 when the error is ours (e.g. a missing column).
    public var sqliteCode: Int32
    /// SQLite's message (`sqlite3_errmsg`) or ours.
    public var message: String
    /// The statement that failed, if any.
    public var sql: String?
    /// The database file.
    public var path: String

    public init(code: Code, sqliteCode: Int32 = 0, message: String, sql: String? = nil, path: String) {
        self.code = code
        self.sqliteCode = sqliteCode
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// One paragraph for a human: the message, the SQL, and a hint for the common operational failures.
    public var description: String {
        var text = "\(path): \(message)"
        if let sql { text += " (in SQL: \(sql))" }
        if let hint { text += "; \(hint)" }
        return text
    }

    /// Advice for the failures an operator can fix, nil for programming errors.
    public var hint: String? {
        switch code {
        case .locked:
            return "another process kept the database busy longer than the busy timeout: "
                + "wait for the other nestci (check with `fuser \(path)`) or raise the busy timeout"
        case .open:
            return "check that the directory exists, is writable by this user and that the disk is not full "
                + "(a WAL database also needs to create \(path)-wal and \(path)-shm beside it)"
        case .notWAL:
            return "put the database on a local file system that supports shared memory (not NFS or tmpfs without mmap)"
        default:
            return nil
        }
    }
}

import CSQLite
import Foundation

/// One connection to an SQLite database file, in WAL mode with foreign keys on.
///
/// Concurrency: a `Database` is deliberately *not* `Sendable`. An SQLite connection is one
/// cursor of state (the open transaction, `changes`, `lastInsertRowID`), so two tasks sharing
/// it would interleave each other's transactions. Own it from one actor (the store's actor)
/// and let the compiler stop it from crossing isolation domains; open a second connection for
/// another actor or process: WAL lets readers proceed while one writer commits, and writers
/// wait up to the busy timeout for each other. The connection is opened in SQLite's
/// multi-thread mode (`SQLITE_OPEN_NOMUTEX`) because that one-owner rule makes SQLite's own
/// per-call mutex redundant.
public final class Database {
    /// The file this connection opened.
    public let path: String
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    private var savepointDepth = 0

    /// Cached prepared statements are bounded so a caller building SQL dynamically cannot grow memory.
    private static let statementCacheLimit = 64

    /// Opens (creating if needed) the database at `path`, switches it to WAL, turns on foreign
    /// keys and sets how long a write waits for another connection's lock.
    public init(path: String, busyTimeout: Duration = .seconds(5)) throws {
        self.path = path
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &connection, flags, nil)
        guard rc == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(connection)
            throw DatabaseError(code: .open, sqliteCode: rc, message: "cannot open the database: \(message)", path: path)
        }
        handle = connection
        sqlite3_extended_result_codes(handle, 1)
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))

        // journal_mode answers with the mode it ended up in; anything but "wal" means readers
        // would block the writer, which the store's concurrency relies on not happening.
        let mode = try switchToWAL(busyTimeout: busyTimeout)
        guard mode == "wal" else {
            throw DatabaseError(
                code: .notWAL, message: "SQLite refused WAL mode (journal_mode is \(mode ?? "unknown"))",
                sql: "PRAGMA journal_mode=WAL", path: path)
        }
        try execute("PRAGMA foreign_keys=ON")
        // NORMAL is durable across application crashes in WAL mode; only a power loss can drop
        // the last commits, which is acceptable for CI records and saves an fsync per commit.
        try execute("PRAGMA synchronous=NORMAL")
    }

    /// `PRAGMA journal_mode=WAL`; its answer. Processes opening a new store at the same moment
    /// switch it together, and SQLite fails the loser at once with SQLITE_BUSY instead of
    /// calling the busy handler: it is asked again until the busy timeout has passed.
    private func switchToWAL(busyTimeout: Duration) throws -> String? {
        let deadline = ContinuousClock.now + busyTimeout
        while true {
            do {
                return try query("PRAGMA journal_mode=WAL").first?[0].string?.lowercased()
            } catch let error as DatabaseError where error.code == .locked && ContinuousClock.now < deadline {
                usleep(10_000)  // the winner's switch takes a few milliseconds
            }
        }
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one statement with `?` parameters bound to `bindings`; result rows are discarded.
    public func execute(_ sql: String, _ bindings: [SQLValue] = []) throws {
        _ = try run(sql, bindings)
    }

    /// Runs one statement with `?` parameters bound to `bindings` and returns all result rows.
    public func query(_ sql: String, _ bindings: [SQLValue] = []) throws -> [Row] {
        try run(sql, bindings)
    }

    /// Runs several `;`-separated statements without parameters (schema scripts, migrations).
    public func executeScript(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            throw DatabaseError(code: Self.code(for: rc, default: .step), sqliteCode: rc, message: text, sql: sql, path: path)
        }
    }

    /// Runs `body` in a transaction: `BEGIN IMMEDIATE` (so the write lock is taken up front
    /// and a busy database fails here, not half-way), `COMMIT` on return, `ROLLBACK` on throw.
    /// Nested calls become savepoints, so a helper that uses a transaction can be called from
    /// inside another one.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if !isInTransaction {
            try executeScript("BEGIN IMMEDIATE")
            do {
                let result = try body()
                try executeScript("COMMIT")
                return result
            } catch {
                if isInTransaction { try? executeScript("ROLLBACK") }
                throw error
            }
        }
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "nestci_sp\(savepointDepth)"
        try executeScript("SAVEPOINT \(name)")
        do {
            let result = try body()
            try executeScript("RELEASE \(name)")
            return result
        } catch {
            try? executeScript("ROLLBACK TO \(name); RELEASE \(name)")
            throw error
        }
    }

    /// True while a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    private func run(_ sql: String, _ bindings: [SQLValue]) throws -> [Row] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement.handle)
            sqlite3_clear_bindings(statement.handle)
        }
        try statement.bind(bindings)
        return try statement.run()
    }

    private func prepared(_ sql: String) throws -> Statement {
        if let cached = statementCache[sql] { return cached }
        let statement = try Statement(database: self, sql: sql)
        if statementCache.count >= Self.statementCacheLimit { statementCache.removeAll(keepingCapacity: true) }
        statementCache[sql] = statement
        return statement
    }

    func error(_ code: DatabaseError.Code, _ rc: Int32, sql: String?) -> DatabaseError {
        DatabaseError(
            code: Self.code(for: rc, default: code), sqliteCode: rc,
            message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
    }

    /// Busy and locked are operational (another process), not bugs: give them their own code and hint.
    static func code(for rc: Int32, default code: DatabaseError.Code) -> DatabaseError.Code {
        switch rc & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: return .locked
        case SQLITE_CANTOPEN: return .open
        default: return code
        }
    }
}

import Foundation
import Testing

@testable import CIRunner

/// A fresh directory per test, removed afterwards, so tests run in parallel without sharing files.
final class EvidenceTestDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite("SQLite database")
struct SQLiteDatabaseTests {
    @Test("opens a real file in WAL mode with foreign keys on")
    func walAndForeignKeys() throws {
        let dir = try EvidenceTestDirectory()
        let db = try Database(path: dir.path("ci.sqlite"))
        #expect(try db.query("PRAGMA journal_mode").first?[0].string == "wal")
        #expect(try db.query("PRAGMA foreign_keys").first?[0].int64 == 1)
        #expect(FileManager.default.fileExists(atPath: dir.path("ci.sqlite")))

        try db.executeScript("CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE child(p INTEGER REFERENCES parent(id))")
        let error = #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO child(p) VALUES (?)", [7]) }
        #expect(error?.message.contains("FOREIGN KEY") == true)
    }

    @Test("binds and reads back every storage class by column name")
    func typedRoundTrip() throws {
        let dir = try EvidenceTestDirectory()
        let db = try Database(path: dir.path("ci.sqlite"))
        try db.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        let blob = Data([0, 1, 2, 0xff])
        // A value that would break string interpolation must survive binding untouched.
        let hostile = "O3'); DROP TABLE t; --"
        try db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.integer(Int64.min), 2.5, .text(hostile), .blob(blob), nil])
        #expect(db.changes == 1)
        #expect(db.lastInsertRowID == 1)
        let row = try #require(try db.query("SELECT * FROM t WHERE s = ?", [.text(hostile)]).first)
        #expect(try row.int64("i") == Int64.min)
        #expect(try row.double("r") == 2.5)
        #expect(try row.string("s") == hostile)
        #expect(try row.data("b") == blob)
        #expect(try row.isNull("n"))
        #expect(throws: RowError.self) { try row.string("n") }
        #expect(throws: RowError.self) { try row.int64("missing") }
        #expect(try db.query("SELECT * FROM t WHERE i = ?", [0]).isEmpty)
        try db.execute("INSERT INTO t(b) VALUES (?)", [.blob(Data())])
        #expect(try db.query("SELECT typeof(b) AS ty FROM t WHERE rowid = 2").first?.string("ty") == "blob")
    }

    @Test("a throwing transaction rolls back; a returning one commits")
    func rollbackOnThrow() throws {
        struct Boom: Error {}
        let dir = try EvidenceTestDirectory()
        let db = try Database(path: dir.path("ci.sqlite"))
        try db.execute("CREATE TABLE runs(id INTEGER PRIMARY KEY, name TEXT)")
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.execute("INSERT INTO runs(name) VALUES (?)", ["lost"])
                throw Boom()
            }
        }
        #expect(!db.isInTransaction)
        #expect(try db.query("SELECT count(*) AS n FROM runs").first?.int64("n") == 0)

        let kept = try db.transaction {
            try db.execute("INSERT INTO runs(name) VALUES (?)", ["kept"])
            let id = db.lastInsertRowID
            // A failing nested helper undoes only its own part.
            try? db.transaction {
                try db.execute("INSERT INTO runs(name) VALUES (?)", ["inner"])
                throw Boom()
            }
            return id
        }
        #expect(try db.query("SELECT name FROM runs").map { try $0.string("name") } == ["kept"])
        #expect(kept == 1)
    }

    @Test("a second connection sees committed rows, not uncommitted ones")
    func secondConnection() throws {
        let dir = try EvidenceTestDirectory()
        let writer = try Database(path: dir.path("ci.sqlite"))
        try writer.execute("CREATE TABLE cells(name TEXT)")
        let reader = try Database(path: dir.path("ci.sqlite"))
        try writer.transaction {
            try writer.execute("INSERT INTO cells VALUES (?)", ["O3-amd64"])
            // WAL: the reader proceeds while the writer holds its transaction, and sees the old state.
            #expect(try reader.query("SELECT * FROM cells").isEmpty)
        }
        #expect(try reader.query("SELECT name FROM cells").first?.string("name") == "O3-amd64")
    }

    @Test("a second writer waits, then fails with a locked error that says what to do")
    func lockedWriter() throws {
        let dir = try EvidenceTestDirectory()
        let first = try Database(path: dir.path("ci.sqlite"))
        try first.execute("CREATE TABLE t(x)")
        let second = try Database(path: dir.path("ci.sqlite"), busyTimeout: .milliseconds(50))
        try first.transaction {
            let error = #expect(throws: DatabaseError.self) { try second.transaction {} }
            #expect(error?.code == .locked)
            #expect(error?.description.contains("busy timeout") == true)
        }
    }

    @Test("processes opening a new database at the same moment all get it in WAL mode (none fails switching it)")
    func concurrentFirstOpen() async throws {
        let dir = try EvidenceTestDirectory()
        for round in 0..<20 {
            let path = dir.path("fresh-\(round).sqlite")
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        do {
                            let db = try Database(path: path)
                            return try db.query("PRAGMA journal_mode").first?[0].string == "wal" ? nil : "not WAL"
                        } catch { return "\(error)" }
                    }
                }
                return await group.compactMap { $0 }.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(failures.isEmpty, "round \(round): \(failures)")
        }
    }

    @Test("migrations run once, in order, and are idempotent")
    func migrations() throws {
        let dir = try EvidenceTestDirectory()
        let migrations = [
            "CREATE TABLE runs(id INTEGER PRIMARY KEY, started TEXT)",
            "ALTER TABLE runs ADD COLUMN verdict TEXT; CREATE INDEX runs_verdict ON runs(verdict)",
        ]
        do {
            let db = try Database(path: dir.path("ci.sqlite"))
            #expect(try db.userVersion() == 0)
            #expect(try db.migrate(Array(migrations.prefix(1))) == 1)
            #expect(try db.migrate(migrations) == 2)
            #expect(try db.migrate(migrations) == 2)
        }
        let reopened = try Database(path: dir.path("ci.sqlite"))
        #expect(try reopened.migrate(migrations) == 2)
        try reopened.execute("INSERT INTO runs(started, verdict) VALUES (?, ?)", ["now", "PASS"])

        let tooNew = #expect(throws: DatabaseError.self) { try reopened.migrate(Array(migrations.prefix(1))) }
        #expect(tooNew?.description.contains("schema version 2") == true)

        // A failing migration leaves the file at the previous version with nothing half-applied.
        let broken = migrations + ["CREATE TABLE ok(x); CREATE TABLE oops(", "SELECT 1"]
        let error = #expect(throws: DatabaseError.self) { try reopened.migrate(broken) }
        #expect(error?.message.contains("migration 2 → 3") == true)
        #expect(try reopened.userVersion() == 2)
        #expect(try reopened.query("SELECT name FROM sqlite_master WHERE name = 'ok'").isEmpty)
    }

    @Test("bad SQL fails with SQLite's message and the SQL itself")
    func badSQL() throws {
        let dir = try EvidenceTestDirectory()
        let db = try Database(path: dir.path("ci.sqlite"))
        let sql = "SELEC verdict FROM runs"
        let error = #expect(throws: DatabaseError.self) { try db.query(sql) }
        #expect(error?.code == .prepare)
        #expect(error?.description.contains(sql) == true)
        #expect(error?.message.contains("syntax error") == true)

        let count = #expect(throws: DatabaseError.self) { try db.execute("SELECT ?", []) }
        #expect(count?.description.contains("1 parameter") == true)
    }

    @Test("an unopenable path says to check the directory")
    func unableToOpen() throws {
        let dir = try EvidenceTestDirectory()
        let error = #expect(throws: DatabaseError.self) { try Database(path: dir.path("missing/dir/ci.sqlite")) }
        #expect(error?.code == .open)
        #expect(error?.description.contains("directory exists") == true)
    }
}

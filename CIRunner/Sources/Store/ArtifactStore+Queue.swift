import Foundation

/// One run asked for: by the schedule, by a moved branch, or by `nestci trigger`.
public struct QueueEntry: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable { case queued, running, done, cancelled, failed }
    public var id: Int64
    public var matrixPath: String
    public var matrix: String
    public var reason: String
    public var force: Bool
    public var requested: Date
    public var state: State
    /// Set once the run started (kept when a crashed service re-queues it, so it resumes).
    public var runID: String?
    public var cancelRequested: Bool
    public var message: String?
}

extension ArtifactStore {
    /// Adds a run request; the service picks it up. Returns its queue id.
    @discardableResult
    public func enqueue(matrixPath: String, matrix: String, reason: String, force: Bool = false, now: Date = Date()) throws -> Int64 {
        try database.execute(
            "INSERT INTO queue(matrix_path, matrix, reason, force, requested, state) VALUES (?, ?, ?, ?, ?, 'queued')",
            [.text(matrixPath), .text(matrix), .text(reason), SQLValue(force ? 1 : 0), .real(now.timeIntervalSince1970)])
        return database.lastInsertRowID
    }

    /// The oldest queued request, if any.
    public func nextQueued() throws -> QueueEntry? {
        try database.query("\(Self.queueSelect) WHERE state = 'queued' ORDER BY id LIMIT 1").first.map(Self.queueEntry)
    }

    /// Every request, newest first (for `nestci queue` and tests).
    public func queue(limit: Int = 100) throws -> [QueueEntry] {
        try database.query("\(Self.queueSelect) ORDER BY id DESC LIMIT ?", [SQLValue(limit)]).map(Self.queueEntry)
    }

    public func queueEntry(_ id: Int64) throws -> QueueEntry? {
        try database.query("\(Self.queueSelect) WHERE id = ?", [.integer(id)]).first.map(Self.queueEntry)
    }

    /// Moves a request to `state`, recording its run id and a message.
    public func setQueueState(_ id: Int64, _ state: QueueEntry.State, runID: String? = nil, message: String? = nil) throws {
        try database.execute(
            "UPDATE queue SET state = ?, run_id = COALESCE(?, run_id), message = COALESCE(?, message) WHERE id = ?",
            [.text(state.rawValue), runID.map(SQLValue.text) ?? .null, message.map(SQLValue.text) ?? .null, .integer(id)])
    }

    /// `nestci cancel`: a queued request is cancelled at once; a running one is flagged and
    /// the service stops it. `target` is a run id or a queue id. Returns what happened.
    public func requestCancel(_ target: String) throws -> String {
        let rows = try database.query(
            "\(Self.queueSelect) WHERE (run_id = ? OR CAST(id AS TEXT) = ?) AND state IN ('queued', 'running')",
            [.text(target), .text(target)])
        guard let entry = try rows.first.map(Self.queueEntry) else {
            throw StoreError(.notFound, "nothing queued or running matches \(target) (give a run id from `nestci runs` or a queue id from `nestci queue`)")
        }
        if entry.state == .queued {
            try setQueueState(entry.id, .cancelled, message: "cancelled before it started")
            return "request \(entry.id) (\(entry.matrix)) cancelled before it started"
        }
        try database.execute("UPDATE queue SET cancel_requested = 1 WHERE id = ?", [.integer(entry.id)])
        return "run \(entry.runID ?? "?") (\(entry.matrix)) will be stopped by the service"
    }

    /// Requests a previous service left `running`: back to `queued`, keeping their run id so
    /// the run resumes with its finished cells.
    public func requeueRunning() throws -> [QueueEntry] {
        let running = try database.query("\(Self.queueSelect) WHERE state = 'running'").map(Self.queueEntry)
        try database.execute("UPDATE queue SET state = 'queued' WHERE state = 'running'")
        return running
    }

    /// Small persistent values of the service (JSON text).
    public func serviceValue(_ key: String) throws -> String? {
        try database.query("SELECT value FROM service_state WHERE key = ?", [.text(key)]).first?.string("value")
    }

    public func setServiceValue(_ key: String, _ value: String) throws {
        try database.execute("INSERT OR REPLACE INTO service_state(key, value) VALUES (?, ?)", [.text(key), .text(value)])
    }

    static let queueSelect = "SELECT id, matrix_path, matrix, reason, force, requested, state, run_id, cancel_requested, message FROM queue"

    static func queueEntry(_ row: Row) throws -> QueueEntry {
        QueueEntry(
            id: try row.int64("id"), matrixPath: try row.string("matrix_path"), matrix: try row.string("matrix"),
            reason: try row.string("reason"), force: try row.int("force") != 0,
            requested: Date(timeIntervalSince1970: try row.double("requested")),
            state: QueueEntry.State(rawValue: try row.string("state")) ?? .failed,
            runID: try row.isNull("run_id") ? nil : try row.string("run_id"), cancelRequested: try row.int("cancel_requested") != 0,
            message: try row.isNull("message") ? nil : try row.string("message"))
    }
}

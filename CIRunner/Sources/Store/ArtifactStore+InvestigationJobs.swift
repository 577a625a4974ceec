import Foundation

/// The service's investigation jobs (table `investigation_jobs`): queued by a finished run's
/// new findings, run by ``InvestigationService``, cancelled by `nestci cancel job-N`.
extension ArtifactStore {
    /// Queues `job` unless the same investigation (``InvestigationJob/dedupeKey``) was queued
    /// before, in any state. Returns the new job with its id, or nil when it existed.
    @discardableResult
    public func enqueueJob(_ job: InvestigationJob) throws -> InvestigationJob? {
        var job = job
        job.state = .queued
        try database.execute(
            "INSERT OR IGNORE INTO investigation_jobs(kind, dedupe_key, state, job_json) VALUES (?, ?, 'queued', ?)",
            [.text(job.kind.rawValue), .text(job.dedupeKey), .text(try StoreFiles.jsonText(job))])
        guard database.changes > 0 else { return nil }
        job.id = database.lastInsertRowID
        return job
    }

    /// The next job to run: queued bisections first (a triage runs after any bisection),
    /// oldest first.
    public func nextQueuedJob() throws -> InvestigationJob? {
        try database.query(
            "\(Self.jobSelect) WHERE state = 'queued' AND cancel_requested = 0 ORDER BY CASE kind WHEN 'bisect' THEN 0 ELSE 1 END, id LIMIT 1"
        ).first.map(Self.job)
    }

    /// Every job, newest first.
    public func jobs(limit: Int = 100) throws -> [InvestigationJob] {
        try database.query("\(Self.jobSelect) ORDER BY id DESC LIMIT ?", [SQLValue(limit)]).map(Self.job)
    }

    public func job(_ id: Int64) throws -> InvestigationJob? {
        try database.query("\(Self.jobSelect) WHERE id = ?", [.integer(id)]).first.map(Self.job)
    }

    /// Moves a job to `state` with a message; `addSeconds` is wall time it just spent.
    public func setJobState(_ id: Int64, _ state: InvestigationJob.State, message: String? = nil, addSeconds: Double = 0) throws {
        guard var job = try job(id) else { throw StoreError(.notFound, "no investigation job-\(id) in \(root)") }
        job.state = state
        if let message { job.message = message }
        try database.execute(
            "UPDATE investigation_jobs SET state = ?, seconds = seconds + ?, job_json = ? WHERE id = ?",
            [.text(state.rawValue), .real(addSeconds), .text(try StoreFiles.jsonText(job)), .integer(id)])
    }

    /// Wall seconds a job has spent over all its parts (resumed ones included).
    public func jobSeconds(_ id: Int64) throws -> Double {
        try database.query("SELECT seconds FROM investigation_jobs WHERE id = ?", [.integer(id)]).first?.double("seconds") ?? 0
    }

    /// `nestci cancel job-N`: a queued job is cancelled at once, a running one flagged for
    /// the service to stop. Nil when `target` is not a job name.
    public func requestJobCancel(_ target: String) throws -> String? {
        guard target.hasPrefix("job-"), let id = Int64(target.dropFirst(4)) else { return nil }
        guard let job = try job(id), job.state == .queued || job.state == .running else {
            throw StoreError(.notFound, "no queued or running investigation \(target) (`nestci queue` lists them)")
        }
        if job.state == .queued {
            try setJobState(id, .cancelled, message: "cancelled before it started")
            return "\(target) (\(job.kind.rawValue) \(job.runID)/\(job.cellID)) cancelled before it started"
        }
        try database.execute("UPDATE investigation_jobs SET cancel_requested = 1 WHERE id = ?", [.integer(id)])
        return "\(target) (\(job.kind.rawValue) \(job.runID)/\(job.cellID)) will be stopped by the service; its recorded steps are kept"
    }

    /// Jobs a dead service left `running` go back to `queued`: the next start resumes them.
    public func requeueRunningJobs() throws -> [InvestigationJob] {
        let running = try database.query("\(Self.jobSelect) WHERE state = 'running'").map(Self.job)
        for job in running { try setJobState(job.id, .queued, message: "interrupted; resumed by the next service") }
        return running
    }

    /// Whether any run is queued or running: investigations yield to runs.
    public func runsPending() throws -> Bool {
        try !database.query("SELECT 1 FROM queue WHERE state IN ('queued', 'running') LIMIT 1").isEmpty
    }

    /// Runs going in a live process (stored `running`, their writer alive or on another
    /// host, as ``RunSummary/status`` tells), investigations' own runs aside: a plain
    /// `nestci run` on the store holds investigations back as a queued run does.
    public func liveRuns() throws -> [RunSummary] {
        try nightlyRunsStoredRunning().filter { $0.status == .running }
    }

    static let jobSelect = "SELECT id, state, cancel_requested, job_json FROM investigation_jobs"

    static func job(_ row: Row) throws -> InvestigationJob {
        var job = try StoreFiles.decode(InvestigationJob.self, json: try row.string("job_json"))
        job.id = try row.int64("id")
        job.state = InvestigationJob.State(rawValue: try row.string("state")) ?? .failed
        job.cancelRequested = try row.int("cancel_requested") != 0
        return job
    }
}

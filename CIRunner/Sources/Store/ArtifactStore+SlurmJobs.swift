import Foundation

/// A Slurm job array submitted for a run (its builds or its cells).
public struct SlurmJobRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case builds, cells }
    public var runID: String
    public var jobID: String
    public var kind: Kind
    /// The run's spool folder (task scripts, logs, bundles).
    public var spool: String
    public var submitted: Date
}

extension ArtifactStore {
    /// Remembers a submitted job array, so a restarted nestci resumes watching it.
    public func recordSlurmJob(_ job: SlurmJobRecord) throws {
        try database.execute(
            "INSERT OR REPLACE INTO slurm_jobs(run_id, job_id, kind, spool, submitted) VALUES (?, ?, ?, ?, ?)",
            [.text(job.runID), .text(job.jobID), .text(job.kind.rawValue), .text(job.spool), .real(job.submitted.timeIntervalSince1970)])
    }

    /// The job arrays of a run, in submission order.
    public func slurmJobs(runID: String) throws -> [SlurmJobRecord] {
        try database.query("SELECT job_id, kind, spool, submitted FROM slurm_jobs WHERE run_id = ? ORDER BY submitted, job_id", [.text(runID)]).map { row in
            SlurmJobRecord(
                runID: runID, jobID: try row.string("job_id"), kind: SlurmJobRecord.Kind(rawValue: try row.string("kind")) ?? .cells,
                spool: try row.string("spool"), submitted: Date(timeIntervalSince1970: try row.double("submitted")))
        }
    }
}

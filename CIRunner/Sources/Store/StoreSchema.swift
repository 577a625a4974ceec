/// The store's SQLite schema, as migrations (`Database.migrate`): append new steps, never
/// edit released ones, because databases in the field have recorded them by position.
enum StoreSchema {
    static let migrations: [String] = [
        // 0 → 1: runs, cells, builds, artifacts.
        """
        CREATE TABLE runs(
            id TEXT PRIMARY KEY,
            matrix TEXT NOT NULL,
            matrix_path TEXT NOT NULL,
            trigger TEXT NOT NULL,
            started REAL NOT NULL,
            finished REAL,
            status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
            writer_pid INTEGER,
            writer_host TEXT,
            host_json TEXT NOT NULL,
            commits_json TEXT NOT NULL DEFAULT '{}',
            planned_cells INTEGER NOT NULL,
            n_pass INTEGER NOT NULL DEFAULT 0,
            n_fail INTEGER NOT NULL DEFAULT 0,
            n_timeout INTEGER NOT NULL DEFAULT 0,
            n_build_fail INTEGER NOT NULL DEFAULT 0,
            n_infra INTEGER NOT NULL DEFAULT 0,
            n_skip INTEGER NOT NULL DEFAULT 0,
            n_flaky INTEGER NOT NULL DEFAULT 0,
            n_findings INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX runs_by_matrix ON runs(matrix, id);
        CREATE TABLE cells(
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            cell_id TEXT NOT NULL,
            chain TEXT NOT NULL,
            values_json TEXT NOT NULL,
            outcome TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            line INTEGER,
            seconds REAL,
            commits_json TEXT NOT NULL,
            build_keys_json TEXT NOT NULL,
            result_json TEXT NOT NULL,
            PRIMARY KEY (run_id, cell_id)
        );
        CREATE INDEX cells_by_cell ON cells(cell_id, run_id);
        CREATE TABLE builds(
            cache_key TEXT PRIMARY KEY,
            spec_key TEXT NOT NULL,
            component TEXT NOT NULL,
            commit_id TEXT NOT NULL,
            opt TEXT NOT NULL,
            bits TEXT NOT NULL,
            status TEXT NOT NULL,
            record_path TEXT NOT NULL,
            recorded REAL NOT NULL
        );
        CREATE INDEX builds_by_spec ON builds(spec_key);
        CREATE TABLE artifacts(
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            cell_id TEXT,
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (run_id, path),
            FOREIGN KEY (run_id, cell_id) REFERENCES cells(run_id, cell_id) ON DELETE CASCADE
        );
        CREATE INDEX artifacts_by_cell ON artifacts(run_id, cell_id);
        """,
        // The service's queue (runs asked for by schedule, branch polling, `nestci trigger`)
        // and its small persistent state (last schedule fire, branch watch baselines).
        """
        CREATE TABLE queue(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            matrix_path TEXT NOT NULL,
            matrix TEXT NOT NULL,
            reason TEXT NOT NULL,
            force INTEGER NOT NULL DEFAULT 0,
            requested REAL NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'cancelled', 'failed')),
            run_id TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            message TEXT
        );
        CREATE INDEX queue_by_state ON queue(state, id);
        CREATE TABLE service_state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
        // Retention. `prune_started` is set (with the bytes to free) before any file goes,
        // `pruned` once they are gone; a run with only the first was cut short by a crash and
        // the next prune finishes it (ArtifactStore+Retention.swift).
        """
        ALTER TABLE runs ADD COLUMN prune_started REAL;
        ALTER TABLE runs ADD COLUMN pruned REAL;
        ALTER TABLE runs ADD COLUMN pruned_bytes INTEGER NOT NULL DEFAULT 0;
        """,
        // investigate: bisect records (#12), one row per bisection, the record as JSON
        // (CIRunner/Sources/Investigate/BisectRecord.swift); `run_id` is the bisected run.
        """
        CREATE TABLE bisects(
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            cell_id TEXT NOT NULL,
            status TEXT NOT NULL,
            updated REAL NOT NULL,
            record_json TEXT NOT NULL
        );
        CREATE INDEX bisects_by_run ON bisects(run_id, cell_id);
        """,
        // triage: -O triage records (#13), one row per triage, the record as JSON
        // (CIRunner/Sources/Triage/TriageRecord.swift); `run_id` is the triaged run.
        """
        CREATE TABLE triages(
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            cell_id TEXT NOT NULL,
            status TEXT NOT NULL,
            updated REAL NOT NULL,
            record_json TEXT NOT NULL
        );
        CREATE INDEX triages_by_run ON triages(run_id, cell_id);
        """,
        // service: investigation jobs (#12/#13), the service's automatic bisects and
        // triages (CIRunner/Sources/Service/InvestigationJob.swift); `dedupe_key` makes "the
        // same signature and commit range" one job.
        """
        CREATE TABLE investigation_jobs(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            dedupe_key TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'cancelled', 'failed')),
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            seconds REAL NOT NULL DEFAULT 0,
            job_json TEXT NOT NULL
        );
        CREATE INDEX investigation_jobs_by_state ON investigation_jobs(state, kind, id);
        """,
        // slurm: the Slurm job arrays of a run, so a restarted nestci watches the same jobs
        // (SlurmExecutor; ArtifactStore+SlurmJobs.swift).
        """
        CREATE TABLE slurm_jobs(run_id TEXT NOT NULL, job_id TEXT NOT NULL, kind TEXT NOT NULL,
                                spool TEXT NOT NULL, submitted REAL NOT NULL, PRIMARY KEY(run_id, job_id));
        """,
        // bisect: the process writing a bisect record (as runs has), so the service knows a
        // bisect running in a live process (ArtifactStore+Bisect.swift, bisectCovering).
        """
        ALTER TABLE bisects ADD COLUMN writer_pid INTEGER;
        ALTER TABLE bisects ADD COLUMN writer_host TEXT;
        """,
    ]
}

import Foundation
import Hypervisor
import Matrix

/// Runs a plan on a Slurm cluster: the unique build keys as one job array of
/// `nestci build --only KEY --cache DIR`, the cells as job arrays of `nestci cell run`
/// (one per constraint and time limit; one for a plain matrix) that wait for the builds,
/// each bundle ingested into the store as its task ends. The job ids are kept in the
/// store, so `resume` (a restarted nestci) watches the same jobs; cancelling the run
/// scancels them and waits until Slurm has none left.
///
/// Each cell array depends on its own build tasks (`afterany:JOB_I:JOB_J`), not on the
/// whole build array, with `afterany`, not `afterok`: a build that fails must still give
/// its cells their BUILD-FAIL bundle (from the cache's failure record).
public struct SlurmExecutor: Executor {
    public var options: RunOptions
    public var slurm: SlurmOptions
    public var onEvent: @Sendable (RunEvent) -> Void
    /// Per-cell times, for `nestci bench slurm`.
    public var onTiming: (@Sendable (SlurmCellTiming) -> Void)?

    public init(options: RunOptions, slurm: SlurmOptions, onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.options = options
        self.slurm = slurm
        self.onEvent = onEvent
    }

    public func run(_ plan: Plan, matrixPath: String, runID: String?, resume: Bool) async throws -> RunOutcome {
        let store = try ArtifactStore(root: options.store)
        let ingester = BundleIngester(store: store)
        let runID = runID ?? ArtifactStore.newRunID()
        let run: BundleRun
        let jobs: [SlurmJobRecord]
        if resume, let existing = try await ingester.run(runID) {
            jobs = try await store.slurmJobs(runID: runID)
            guard !jobs.isEmpty else {
                throw RunError(.missingInput, "run \(runID) has no Slurm jobs in \(options.store): it was not run with --executor slurm; resume it without --executor slurm")
            }
            run = existing
        } else {
            let spool = URL(fileURLWithPath: slurm.spool ?? "\(options.store)/slurm/\(runID)").standardizedFileURL.path
            let spoolMatrix = try SlurmSpool.prepare(spool, matrixPath: URL(fileURLWithPath: matrixPath).standardizedFileURL.path, plan: plan)
            // Resolved once, here: every build and cell task builds these commits, however
            // the branches move while the run is queued or going.
            let pins = try await SlurmSpool.pinRevisions(plan, cache: cachePath, spool: spool, pinned: options.builder.pinnedRevisions)
            run = try await ingester.begin(
                runID: runID, plan: plan, matrixPath: URL(fileURLWithPath: matrixPath).standardizedFileURL.path,
                matrixDigest: try CellBundle.matrixDigest(path: spoolMatrix), trigger: options.trigger, revisions: pins)
            do {
                jobs = try await submit(plan, runID: runID, spool: spool, store: store)
            } catch {
                let submitted = (try? await store.slurmJobs(runID: runID)) ?? []
                await Task.detached { await self.cancel(submitted, runID: runID) }.value
                throw error
            }
        }
        Self.active.withLock { $0[runID] = (jobs.map(\.jobID), slurm.environment) }
        defer { _ = Self.active.withLock { $0.removeValue(forKey: runID) } }
        onEvent(.started(runID: runID, cells: plan.cells.count, builds: plan.builds.count))
        do {
            try await watch(plan, run: run, jobs: jobs, ingester: ingester)
            // Every cell is decided, but a task may still be ending (a cell is ingested as soon
            // as its status is written): the run returns once Slurm holds none of its jobs.
            if await !waitUntilGone(jobs, seconds: 60) { await Task.detached { await self.cancel(jobs, runID: runID) }.value }
        } catch {
            // Cancelled (or the watch failed): nothing of the run may stay queued or running.
            await Task.detached { await self.cancel(jobs, runID: runID) }.value
            throw error
        }
        return try await ingester.finish(run)
    }

    // MARK: - Submitting

    /// The build cache the tasks share.
    var cachePath: String { URL(fileURLWithPath: slurm.cache ?? "\(options.store)/cache").standardizedFileURL.path }

    private func submit(_ plan: Plan, runID: String, spool: String, store: ArtifactStore) async throws -> [SlurmJobRecord] {
        let cache = cachePath
        let nestci = slurm.nestci ?? SlurmSpool.thisExecutable()
        try SlurmSpool.writeScripts(spool, nestci: nestci, cache: cache, runID: runID, builderNoWorkarounds: options.builder.noWorkarounds)
        var jobs: [SlurmJobRecord] = []
        var buildJob: String?
        if !plan.builds.isEmpty {
            let minutes = ((plan.builds.map(\.spec.timeoutSeconds).max() ?? 3600) + 59) / 60 + slurm.marginMinutes
            let id = try await sbatch(
                ["--job-name=\(SlurmSpool.jobName("builds", runID))", "--array=0-\(plan.builds.count - 1)", "--output=\(spool)/logs/build-%a.txt",
                 "--open-mode=append", "--time=\(minutes)", "--cpus-per-task=1", "--requeue"] + slurm.placement + ["\(spool)/\(SlurmSpool.buildScript)"])
            jobs.append(SlurmJobRecord(runID: runID, jobID: id, kind: .builds, spool: spool, submitted: Date()))
            try await store.recordSlurmJob(jobs.last!)
            buildJob = id
        }
        let groups = SlurmSpool.groups(plan, slurm: slurm)
        try SlurmSpool.writeTasks(spool, groups: groups)
        for group in groups {
            let id = try await sbatch(
                ["--job-name=\(SlurmSpool.jobName("cells", runID))", "--array=\(SlurmSpool.arraySpec(group.tasks.map(\.index)))",
                 "--output=\(spool)/logs/task-%a.txt", "--open-mode=append", "--time=\(group.minutes)", "--cpus-per-task=1", "--requeue"]
                    + (group.constraint.map { ["--constraint=\($0)"] } ?? []) + SlurmSpool.dependency(buildJob: buildJob, builds: group.builds) + slurm.placement + ["\(spool)/\(SlurmSpool.cellScript)"])
            jobs.append(SlurmJobRecord(runID: runID, jobID: id, kind: .cells, spool: spool, submitted: Date()))
            try await store.recordSlurmJob(jobs.last!)
        }
        return jobs
    }

    /// Tasks get this nestci's environment but not its supervisor token: they are not its
    /// children and must survive its death (its watchdog ends whatever carries the token).
    /// sbatch runs with the token unset and plain `--export=ALL`: any other `--export` value
    /// (`ALL,NAME=…` included) makes slurmd load the user's login environment (`su - USER`)
    /// for every task, measured here at ~1 s and ~180 processes per task.
    private func sbatch(_ arguments: [String]) async throws -> String {
        let result = try await client("env", ["-u", "NESTCI_SUPERVISOR", "sbatch", "--parsable", "--export=ALL"] + arguments)
        guard result.succeeded, let id = SlurmOutput.submittedJob(sbatch: result.output) else {
            throw RunError(.setup, "sbatch \(arguments.map(ShellQuote.quote).joined(separator: " ")) failed (\(result.summary)): \(result.output.suffix(2000))")
        }
        return id
    }

    /// Runs a Slurm client. Cancelled meanwhile (the client is then killed), it throws
    /// `CancellationError`, not the killed client's failure: the run was cancelled, Slurm did
    /// not fail.
    func client(_ tool: String, _ arguments: [String]) async throws -> ProcessResult {
        let result = try await SupervisedProcess.run(ProcessSpec(tool, arguments, environment: slurm.environment, timeout: .seconds(60), outputLimit: 16 << 20))
        try Task.checkCancellation()
        return result
    }

    // MARK: - Watching

    /// What one poll of the watch keeps between actions: when each cell was first seen
    /// running (for its timing), and the requeue one of a task's cells asked for.
    private struct WatchProgress {
        var started: [Int: Date] = [:]
        var requeue: (jobID: String, reason: String, cells: [Int])?
    }

    /// The run and store the watch's actions are carried out on.
    private struct WatchTarget {
        var run: BundleRun
        var cells: [String: Cell]
        var spool: String
        var submitted: Date
        var ingester: BundleIngester
        var store: ArtifactStore { ingester.store }
    }

    private func watch(_ plan: Plan, run: BundleRun, jobs: [SlurmJobRecord], ingester: BundleIngester) async throws {
        let store = ingester.store
        _ = try await store.resumeRun(run.runID)
        let index = Dictionary(uniqueKeysWithValues: run.cells.enumerated().map { ($1, $0) })
        var machine = SlurmWatch(retries: options.infraRetries)
        for done in try await store.cells(runID: run.runID) {
            if let position = index[done.cellID] { machine.markFinished(position) }
            onEvent(.cellFinished(done))
        }
        let spool = jobs[0].spool
        let target = WatchTarget(
            run: run, cells: Dictionary(uniqueKeysWithValues: plan.cells.map { ($0.id, $0) }), spool: spool,
            submitted: jobs.first { $0.kind == .cells }?.submitted ?? Date(), ingester: ingester)
        var progress = WatchProgress()
        let cellJobs = jobs.filter { $0.kind == .cells }
        // A cell array whose every task is finished is not asked again (one scontrol less per
        // poll and array: a run has an array per build).
        var doneJobs: Set<String> = []
        let taskCells = SlurmSpool.taskCells(spool, cells: run.cells.count)
        // A task's requeue, asked for by any of its cells, is done once per attempt.
        var requeuedTasks: Set<String> = []
        while machine.finished.count < run.cells.count {
            try Task.checkCancellation()
            for (job, observed) in try await observe(cellJobs.filter { !doneJobs.contains($0.jobID) }, spool: spool, taskCells: taskCells, machine: machine) {
                for (task, views) in observed {
                    progress.requeue = nil
                    for view in views {
                        for action in machine.observe(view.task, scriptEnded: view.scriptEnded) {
                            try await perform(action, task: task, view: view.task, on: target, progress: &progress)
                        }
                    }
                    guard let requeue = progress.requeue, requeuedTasks.insert("\(requeue.jobID).\(task.restarts)").inserted else { continue }
                    let result = try await client("scontrol", ["requeue", requeue.jobID])
                    // "pending execution": requeued already (by Slurm itself, on node loss).
                    if !result.succeeded, !result.output.contains("pending execution") {
                        for position in requeue.cells {
                            machine.markFinished(position)
                            try await record(
                                infra: "\(requeue.reason); scontrol requeue \(requeue.jobID) failed: \(result.output.prefix(300))", cell: target.cells[run.cells[position]],
                                run: run, store: store, attempts: task.restarts + 1)
                        }
                    }
                }
                if !observed.isEmpty, observed.allSatisfy({ $0.task.taskRange == nil && (taskCells[$0.task.taskID ?? -1] ?? []).allSatisfy(machine.finished.contains) }) {
                    doneJobs.insert(job.jobID)
                }
            }
            if machine.finished.count < run.cells.count { try await Task.sleep(for: slurm.pollInterval) }
        }
    }

    /// Carries out one of the watch's decisions for a cell of `task` (`view`: the task as
    /// that cell sees it).
    private func perform(_ action: SlurmWatch.Action, task: SlurmTask, view: SlurmTask, on target: WatchTarget, progress: inout WatchProgress) async throws {
        let run = target.run
        switch action {
        case .started(let position, let jobID, let attempt):
            if progress.started[position] == nil { progress.started[position] = Date() }
            onEvent(.cellBooting(cellID: run.cells[position], label: "slurm job \(jobID) on \(task.nodes)", attempt: attempt))
        case .startNow(let jobID):
            _ = try? await client("scontrol", ["update", "jobid=\(jobID)", "StartTime=now"])  // only speeds a retry up
        case .lost(let position, let attempt, let reason):
            onEvent(.cellBooting(cellID: run.cells[position], label: "INFRA, requeued: \(reason)", attempt: attempt + 1))
        case .requeue(let position, let jobID, let reason):
            onEvent(.cellBooting(cellID: run.cells[position], label: "INFRA, requeued: \(reason)", attempt: task.restarts + 1))
            progress.requeue = (jobID, progress.requeue?.reason ?? reason, (progress.requeue?.cells ?? []) + [position])
        case .ingest(let position, let attempt):
            let cellID = run.cells[position]
            let bundle = "\(target.spool)/bundles/\(attempt)/\(cellID)"
            let ended = Date()
            do {
                if case .recorded(let result) = try await target.ingester.ingest(bundle, into: run) { onEvent(.cellFinished(result)) }
            } catch let error as BundleError {
                try await record(
                    infra: "the task ended (\(view.state), exit \(view.exitCode.map(String.init) ?? "?"), attempt \(attempt)) without a good bundle: \(error.message); log \(target.spool)/logs/task-\(task.taskID ?? -1).txt",
                    cell: target.cells[cellID], run: run, store: target.store, attempts: attempt + 1)
            }
            onTiming?(SlurmCellTiming(cellID: cellID, submitted: target.submitted, started: progress.started[position] ?? ended, ended: ended, ingested: Date()))
        case .infra(let position, let reason, let cancel):
            if let cancel { _ = try? await client("scancel", [cancel]) }  // recorded INFRA either way
            try await record(infra: reason, cell: target.cells[run.cells[position]], run: run, store: target.store, attempts: task.restarts + 1)
        }
    }

    /// The cell jobs' tasks, each with the views of its cells (``SlurmWatch/cellViews(of:cells:statuses:)``).
    /// The exit statuses are read once, *after* scontrol answered for every job: a task script
    /// writes them before it exits, so a task scontrol reports ended has its statuses on disk
    /// by then. Read before, a task ending between the two reads looks cut short (killed with
    /// its node).
    func observe(
        _ jobs: [SlurmJobRecord], spool: String, taskCells: [Int: [Int]], machine: SlurmWatch
    ) async throws -> [(job: SlurmJobRecord, tasks: [(task: SlurmTask, views: [(task: SlurmTask, scriptEnded: Bool)])])] {
        var answers: [(job: SlurmJobRecord, tasks: [SlurmTask]?)] = []
        for job in jobs {
            let result = try await client("scontrol", ["--oneliner", "show", "job", job.jobID])
            if result.succeeded {
                answers.append((job, SlurmOutput.tasks(scontrol: result.output).filter { $0.arrayJobID == job.jobID || $0.jobID == job.jobID }))
            } else if result.output.contains("Invalid job id") {
                answers.append((job, nil))  // purged: its tasks come from the statuses below
            } else {
                throw RunError(.setup, "scontrol show job \(job.jobID) failed (\(result.summary)): \(result.output.prefix(500))")
            }
        }
        let statuses = SlurmSpool.statuses(spool)
        return answers.map { job, tasks in
            let tasks = tasks ?? Self.purgedTasks(of: job, taskCells: taskCells, statuses: statuses, machine: machine)
            return (job, tasks.map { task in (task, SlurmWatch.cellViews(of: task, cells: taskCells[task.taskID ?? -1] ?? [], statuses: statuses)) })
        }
    }

    /// The tasks of a cell job Slurm no longer knows (purged after MinJobAge), from the exit
    /// statuses the task script wrote into the spool: one ended task per array index whose
    /// every cell has a status.
    private static func purgedTasks(of job: SlurmJobRecord, taskCells: [Int: [Int]], statuses: [Int: (attempt: Int, exit: Int)], machine: SlurmWatch) -> [SlurmTask] {
        taskCells.sorted { $0.key < $1.key }.compactMap { index, members in
            guard !members.allSatisfy(machine.finished.contains), let attempt = members.compactMap({ statuses[$0]?.attempt }).max(),
                members.allSatisfy({ statuses[$0] != nil })
            else { return nil }
            // The task's own exit, as the script gives it; each cell is decided on its status.
            let exits = members.compactMap { statuses[$0]?.exit }
            let exit = exits.first { $0 == 75 } ?? exits.first { $0 != 0 } ?? 0
            return SlurmTask(jobID: job.jobID, arrayJobID: job.jobID, taskID: index, state: "COMPLETED", reason: "purged", exitCode: exit, signal: 0, restarts: attempt, nodes: "")
        }
    }

    private func record(infra reason: String, cell: Cell?, run: BundleRun, store: ArtifactStore, attempts: Int) async throws {
        guard let cell else { return }
        let result = CellResult(cell: cell, outcome: .infra, rule: "slurm", reason: reason, attempts: attempts)
        try await store.recordCell(runID: run.runID, result: result)
        onEvent(.cellFinished(result))
    }

    // MARK: - Cancelling

    /// The job ids of the runs this process watches, for ``cancelActiveNow()``.
    static let active = Mutex<[String: (jobs: [String], environment: [String: String])]>([:])

    /// scancels the jobs of every run this process watches and waits for scancel: for a
    /// signal handler (a Dispatch thread, never the cooperative pool), before nestci exits.
    public static func cancelActiveNow() {
        let runs = active.withLock { $0 }
        for (_, run) in runs where !run.jobs.isEmpty {
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                _ = try? await SupervisedProcess.run(ProcessSpec("scancel", run.jobs, environment: run.environment, timeout: .seconds(20)))  // best effort on the way out
                done.signal()
            }
            _ = done.wait(timeout: .now() + 25)
        }
    }

    /// scancel every job of the run (and any job of its names whose id a cancelled sbatch
    /// never told), then wait (up to a minute) until squeue shows none.
    func cancel(_ jobs: [SlurmJobRecord], runID: String) async {
        for kind in ["builds", "cells"] { _ = try? await client("scancel", ["--name=\(SlurmSpool.jobName(kind, runID))"]) }  // checked below through squeue
        guard !jobs.isEmpty else { return }
        _ = try? await client("scancel", jobs.map(\.jobID))  // checked below through squeue
        _ = await waitUntilGone(jobs, seconds: 60)
    }

    /// Waits (up to `seconds`) until squeue shows none of `jobs`; false if some still are.
    func waitUntilGone(_ jobs: [SlurmJobRecord], seconds: Double) async -> Bool {
        guard !jobs.isEmpty else { return true }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !Task.isCancelled {
            guard let queue = try? await client("squeue", ["--noheader", "--array", "--jobs=\(jobs.map(\.jobID).joined(separator: ","))", "--format=%i|%T|%r"]),
                queue.succeeded, !SlurmOutput.queue(squeue: queue.output).isEmpty
            else { return !Task.isCancelled }
            try? await Task.sleep(for: .milliseconds(250))  // cancelled: the loop ends, and the caller scancels
        }
        return false
    }
}

/// When one cell went through Slurm: submission, first seen running, bundle ingested.
public struct SlurmCellTiming: Sendable {
    public var cellID: String
    public var submitted: Date
    public var started: Date
    /// When the watch saw the task ended.
    public var ended: Date
    public var ingested: Date
}

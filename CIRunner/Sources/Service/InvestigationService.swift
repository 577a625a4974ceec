import Foundation
import Hypervisor
import Matrix

/// Runs the service's investigations: after a run finishes, each new regression (not a
/// known issue, not already investigated for the same signature and commit range: a job
/// queued before, or a bisect `nestci bisect` recorded, finished or running in a live
/// process) queues one bisect job and each new -O-only finding a triage job (after any
/// bisection), when the matrix's `bisect`/`triage` settings say `auto`.
///
/// Jobs run one at a time and yield to runs: none starts while a run is queued or running
/// (in the service's queue, or a `nestci run` going beside it on the same store), and a run arriving stops the running job at its next step (its recorded steps are kept
/// and reused), which resumes when the runs are done. Jobs are rows in the store, so a job a
/// killed service left running is resumed by the next. ``InvestigationQueueStateMachine``
/// decides; this actor talks to the store and owns the job's task.
public actor InvestigationService: Service {
    /// How one job is carried out: returns what it found (the record's result line), or
    /// throws `CancellationError` when its task was cancelled before it finished. The
    /// service passes the wall seconds the job already spent (for `maxHours`).
    public typealias Runner = @Sendable (_ job: InvestigationJob, _ spentSeconds: Double) async throws -> String

    public nonisolated let name = "investigations"
    let store: ArtifactStore
    /// Per matrix name, its settings (`bisect`, `triage`).
    let matrices: [String: ServiceConfig.MatrixEntry]
    let logger: Logger
    let tick: Duration
    let now: @Sendable () -> Date
    let retry: StoreRetry
    let dashboard: DashboardService?
    let notifications: NotificationService?
    let runBisect: Runner
    let runTriage: Runner
    private var machine = InvestigationQueueStateMachine()
    private var current: (task: Task<Void, Never>, job: InvestigationJob)? {
        didSet { runTask.withLock { $0 = current?.task } }
    }
    private nonisolated let runTask = Mutex<Task<Void, Never>?>(nil)
    private nonisolated let stopping = Mutex(false)
    private var failures = FailureLog()
    /// The live run outside the queue investigations last waited for (logged once).
    private var yieldingTo: String?
    static let scannedKey = "investigations.scanned"

    public init(
        store: ArtifactStore, matrices: [ServiceConfig.MatrixEntry], logger: Logger, tick: Duration = .milliseconds(500),
        dashboard: DashboardService? = nil, notifications: NotificationService? = nil, now: @escaping @Sendable () -> Date = Date.init,
        runBisect: @escaping Runner, runTriage: @escaping Runner
    ) {
        self.notifications = notifications
        self.store = store
        self.matrices = Dictionary(matrices.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
        self.tick = tick
        self.dashboard = dashboard
        self.now = now
        self.retry = StoreRetry(logger: logger)
        self.runBisect = runBisect
        self.runTriage = runTriage
    }

    /// The queue's state (for tests and status).
    public var state: InvestigationQueueStateMachine.State { machine.state }

    public func run() async {
        await recover()
        await withTaskCancellationHandler {
            while !Task.isCancelled {
                await writeUnrecorded()
                await scanFinishedRuns()
                await step()
                await checkCancel()
                try? await Task.sleep(for: tick)
            }
        } onCancel: {
            stopping.withLock { $0 = true }
            runTask.withLock { $0?.cancel() }
        }
        if case .stopJob = machine.stop() { current?.task.cancel() }
        await current?.task.value
        for _ in 0..<3 where machine.unrecorded != nil {
            await Pause.uncancellable(tick)
            await writeUnrecorded()
        }
        if let record = machine.unrecorded {
            logger.error("investigation job-\(record.jobID) is left `running` in the store (it could not be written); the next `nestci serve` resumes it")
        }
    }

    /// Jobs a killed service left running go back to the queue: they resume first.
    private func recover() async {
        do {
            for job in try await retry.run("re-queue interrupted investigations", { try await store.requeueRunningJobs() }) {
                logger.warning("resuming \(job.name) (\(job.kind.rawValue) \(job.runID)/\(job.cellID)) interrupted by a previous service")
            }
        } catch {
            logger.error("cannot re-queue interrupted investigations (they stay `running` until the next start): \(error)")
        }
    }

    // MARK: Queueing

    /// Looks at runs finished since the last look and queues their new findings' jobs. The
    /// first start looks only at runs that finish from then on, not at the store's past.
    private func scanFinishedRuns() async {
        do {
            let runs = try await store.runs(limit: 50)
            guard let scanned = try await store.serviceValue(Self.scannedKey) else {
                try await store.setServiceValue(Self.scannedKey, runs.first { $0.status == .finished }?.id ?? "")
                return
            }
            let pending = try await store.runsPending()
            var marker = scanned
            for summary in runs.reversed() where summary.id > scanned {
                // A run still going (or interrupted, to be resumed) holds the marker: its
                // findings come when it finishes.
                if summary.status == .running || (summary.status == .interrupted && pending) { break }
                if summary.status == .finished { try await queueJobs(of: summary) }
                marker = summary.id
            }
            if marker != scanned { try await store.setServiceValue(Self.scannedKey, marker) }
            failures.succeeded("scan", logger: logger)
        } catch {
            failures.failed("scan", "cannot read finished runs for investigations (retrying every \(tick)): \(error)", logger: logger)
        }
    }

    private func queueJobs(of summary: RunSummary) async throws {
        // Expired known-issue entries, each naming its file, line and entry, once per run.
        for warning in await store.storedFindingsReport(runID: summary.id)?.warnings ?? [] {
            logger.warning(warning, ["run.id": summary.id])
        }
        guard let settings = matrices[summary.matrix], settings.bisect.auto || settings.triage.auto else { return }
        let findings = try await store.findings(runID: summary.id)
        let cells = try await store.cells(runID: summary.id)
        for job in InvestigationJob.jobs(for: findings, cells: cells, runID: summary.id, matrix: settings, now: now()) {
            // A bisect `nestci bisect` ran (or is running) by hand is as good as the job's.
            if job.kind == .bisect, let done = try await store.bisectCovering(job) {
                let how = done.status == .finished ? "found: \(done.resultLine)" : "running in a live process"
                logger.info("not queueing a bisect of \(job.runID)/\(job.cellID): bisect \(done.id) of run \(done.runID) covers the same signature and commit range (\(how))")
                continue
            }
            if let queued = try await store.enqueueJob(job) {
                logger.info("queued \(queued.name): \(job.kind.rawValue) \(job.runID)/\(job.cellID) (\(job.signature)\(job.range.isEmpty ? "" : "; \(job.range)"))")
            } else {
                logger.info("not queueing a \(job.kind.rawValue) of \(job.runID)/\(job.cellID): the same signature and commit range was investigated before")
            }
        }
        for finding in findings where finding.known != nil {
            logger.info("known issue, not investigated: \(finding.title) (known: \(finding.known?.link ?? ""))")
        }
    }

    // MARK: Running

    private func step() async {
        let next: InvestigationJob?
        let pending: Bool
        do {
            // A `nestci run` beside the service is not in its queue, but is a run all the same.
            let live = try await store.liveRuns()
            if live.first?.id != yieldingTo, let run = live.first, case .running = machine.state {
                logger.info("investigations wait for run \(run.id) (\(run.matrix), trigger \(run.trigger)) going in another nestci")
            }
            yieldingTo = live.first?.id
            pending = try await store.runsPending() || !live.isEmpty
            next = machine.state == .idle && !pending ? try await store.nextQueuedJob() : nil
        } catch {
            failures.failed("jobs", "cannot read the investigation queue (retrying every \(tick)): \(error)", logger: logger)
            return
        }
        switch machine.tick(next: next, runsPending: pending) {
        case .start(let id):
            guard let job = next, job.id == id else { return }
            await start(job)
        case .stopJob(let id):
            logger.info("job-\(id) yields to a run; it resumes after the runs, its recorded steps kept")
            current?.task.cancel()
        case .none:
            break
        }
    }

    private func start(_ job: InvestigationJob) async {
        let spent: Double
        do {
            try await retry.run("mark \(job.name) running") { try await store.setJobState(job.id, .running) }
            spent = try await store.jobSeconds(job.id)
        } catch {
            machine.startFailed()
            logger.error("\(job.name) not started: cannot mark it running (retried at the next tick): \(error)")
            return
        }
        let log = logger.with("job.id", job.name)
        log.info("\(spent > 0 ? "resuming" : "starting") \(job.kind.rawValue) of \(job.runID)/\(job.cellID)")
        let runner = job.kind == .bisect ? runBisect : runTriage
        let started = now()
        let clock = now
        let task = Task {
            let ending: InvestigationQueueStateMachine.Ending
            do {
                ending = .finished(try await runner(job, spent))
            } catch is CancellationError {
                ending = .cancelled
            } catch {
                ending = Task.isCancelled ? .cancelled : .failed("\(error)")
            }
            await self.ended(job, ending, seconds: clock().timeIntervalSince(started), log: log)
        }
        current = (task, job)
    }

    private func ended(_ job: InvestigationJob, _ ending: InvestigationQueueStateMachine.Ending, seconds: Double, log: Logger) async {
        if stopping.withLock({ $0 }) { _ = machine.stop() }
        guard var record = machine.jobEnded(ending) else {
            current = nil
            return
        }
        switch record.state {
        case .done: log.info("\(job.name) finished: \(record.message ?? "")")
        case .failed: log.error("\(job.name) failed: \(record.message ?? "")")
        case .cancelled: log.warning("\(job.name) cancelled; its recorded steps are kept")
        case .queued, .running: log.info("\(job.name) paused: \(record.message ?? "")")
        }
        record.message = record.message.map { String($0.prefix(2000)) }
        pendingSeconds = seconds
        await writeUnrecorded()
        current = nil
        dashboard?.changed()
        if record.state == .done, job.kind == .bisect { await notifyBisect(job, log: log) }
    }

    /// Posts `bisect.finished` with the bisected run's finding and the record.
    private func notifyBisect(_ job: InvestigationJob, log: Logger) async {
        guard let notifications else { return }
        do {
            guard let record = try await store.bisects(runID: job.runID, cellID: job.cellID).last, let summary = try await store.run(job.runID) else { return }
            let findings = try await store.findings(runID: job.runID).map(DashboardPublisher.dashboardFinding)
            let run = DashboardRun(
                id: summary.id, matrix: summary.matrix, trigger: summary.trigger, started: summary.started, finished: summary.finished,
                status: summary.status, commits: [:], cells: try await store.cells(runID: job.runID),
                findings: DashboardPublisher.withBisects(findings, [record]))
            notifications.post(RunNotification(bisect: record, run: run))
        } catch {
            log.warning("the bisect's webhook was not sent: \(error)")
        }
    }

    /// Wall seconds of the ended job not yet added to its row.
    private var pendingSeconds = 0.0

    private func writeUnrecorded() async {
        guard let record = machine.unrecorded else { return }
        do {
            let seconds = pendingSeconds
            try await retry.run("record job-\(record.jobID) as \(record.state.rawValue)") {
                try await store.setJobState(record.jobID, record.state, message: record.message, addSeconds: seconds)
            }
            pendingSeconds = 0
            machine.recorded(true)
            failures.succeeded("record job-\(record.jobID)", logger: logger)
        } catch {
            machine.recorded(false)
            failures.failed("record job-\(record.jobID)", "job-\(record.jobID) not yet recorded as \(record.state.rawValue) (retrying every \(tick)): \(error)", logger: logger)
        }
    }

    private func checkCancel() async {
        guard case .running(let id, nil) = machine.state else { return }
        do {
            let job = try await retry.run("read job-\(id)") { try await store.job(id) }
            guard job?.cancelRequested == true, case .stopJob = machine.cancelRequested(jobID: id) else { return }
            logger.info("cancel requested", ["job.id": "job-\(id)"])
            current?.task.cancel()
        } catch {
            failures.failed("cancel job-\(id)", "cannot read whether job-\(id) was cancelled (retrying): \(error)", logger: logger, level: .warning)
        }
    }
}

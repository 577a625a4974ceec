import Foundation
import Hypervisor
import Matrix

/// Runs the store's queue one run at a time (each run uses the configured boot slots).
///
/// Runs come only through the store's queue, so `nestci trigger` and `nestci cancel` need
/// no network port. ``QueueStateMachine`` decides; this actor talks to the store (retrying
/// a locked database) and owns the running run's task, which a stop cancels and awaits.
public actor QueueService: Service {
    /// Test hooks: called at points a test needs to act at.
    public struct Hooks: Sendable {
        /// Before the row of an ended run is written (a test locks the database here).
        public var beforeRecording: (@Sendable (QueueStateMachine.Record) async -> Void)?
        public init(beforeRecording: (@Sendable (QueueStateMachine.Record) async -> Void)? = nil) {
            self.beforeRecording = beforeRecording
        }
    }

    public nonisolated let name = "queue"
    let store: ArtifactStore
    let options: RunOptions
    let logger: Logger
    let tick: Duration
    let now: @Sendable () -> Date
    let retry: StoreRetry
    let dashboard: DashboardService?
    let retention: RetentionService?
    let notifications: NotificationService?
    let hooks: Hooks
    /// What runs the cells (the service config's `"executor"`).
    let executor: ExecutorChoice
    private var machine = QueueStateMachine()
    private var current: Task<Void, Never>? {
        didSet { runTask.withLock { $0 = current } }
    }
    /// The running run's task and whether the service is stopping, for the cancellation
    /// handler: a stop tears the run down at once, even while the loop waits on the store.
    private nonisolated let runTask = Mutex<Task<Void, Never>?>(nil)
    private nonisolated let stopping = Mutex(false)
    private var failures = FailureLog()

    /// - Parameter options: how runs run; its `trigger` is replaced by each request's reason.
    public init(
        store: ArtifactStore, options: RunOptions, logger: Logger, tick: Duration = .milliseconds(500), retry: StoreRetry? = nil,
        dashboard: DashboardService? = nil, retention: RetentionService? = nil, notifications: NotificationService? = nil,
        hooks: Hooks = Hooks(), now: @escaping @Sendable () -> Date = Date.init, executor: ExecutorChoice = .local
    ) {
        self.executor = executor
        self.store = store
        self.options = options
        self.logger = logger
        self.tick = tick
        self.retry = retry ?? StoreRetry(logger: logger)
        self.dashboard = dashboard
        self.retention = retention
        self.notifications = notifications
        self.hooks = hooks
        self.now = now
    }

    /// The queue's state (for tests and status).
    public var state: QueueStateMachine.State { machine.state }

    public func run() async {
        await withTaskCancellationHandler {
            while !Task.isCancelled {
                await writeUnrecorded()
                await startNext()
                await checkCancel()
                // Cancellation ends the sleep early, which is how the loop ends.
                try? await Task.sleep(for: tick)
            }
        } onCancel: {
            stopping.withLock { $0 = true }
            runTask.withLock { $0?.cancel() }
        }
        if machine.stop() {
            logger.info("stopping the run in progress")
            current?.cancel()
        }
        await current?.value
        // The store may still refuse the last row: try for a while, then leave it to the
        // next start, which re-queues `running` rows (so the run resumes, never hangs).
        for _ in 0..<3 where machine.unrecorded != nil {
            await Pause.uncancellable(tick)
            await writeUnrecorded()
        }
        if let record = machine.unrecorded {
            logger.error("queue request \(record.entryID) is left `running` in the store (it could not be written); the next `nestci serve` re-queues and resumes it")
        }
    }

    private func startNext() async {
        guard case .idle = machine.state else { return }
        let entry: QueueEntry?
        do {
            entry = try await retry.run("read the queue") { try await store.nextQueued() }
            failures.succeeded("queue", logger: logger)
        } catch {
            failures.failed("queue", "cannot read the queue (retrying every \(tick)): \(error)", logger: logger)
            return
        }
        guard case .start(let entryID, let runID, let resume) = machine.next(entry, newRunID: ArtifactStore.newRunID(now: now())),
            let entry
        else { return }
        do {
            try await retry.run("mark queue request \(entryID) running") { try await store.setQueueState(entryID, .running, runID: runID) }
        } catch {
            machine.startFailed()
            logger.error("queue request \(entryID) not started: cannot mark it running (retried at the next tick): \(error)")
            return
        }
        let log = logger.with("run.id", runID).with("matrix", entry.matrix)
        log.info("\(resume ? "resuming" : "starting") run: \(entry.reason)")
        var options = self.options
        options.trigger = entry.reason
        let dashboard = self.dashboard
        current = Task {
            let outcome: Result<RunOutcome, any Error>
            do {
                let plan = try MatrixFile.load(path: entry.matrixPath).plan()
                let resumable = resume ? (try await self.store.run(runID)) != nil : false
                let scheduler = self.executor.executor(options) { event in
                    if case .cellFinished(let result) = event {
                        log.info("\(result.outcome.rawValue) \(result.levels) [\(result.backend) smp\(result.smp)]: \(result.reason)", ["cell.id": result.cellID])
                        dashboard?.changed()
                    }
                }
                outcome = .success(try await scheduler.run(plan, matrixPath: entry.matrixPath, runID: runID, resume: resumable))
            } catch {
                outcome = .failure(error)
            }
            await self.ended(entry, runID: runID, outcome, cancelled: Task.isCancelled, log: log)
        }
    }

    private func ended(_ entry: QueueEntry, runID: String, _ outcome: Result<RunOutcome, any Error>, cancelled: Bool, log: Logger) async {
        let ending: QueueStateMachine.Ending
        switch outcome {
        case .success(let run):
            ending = .finished
            let commits = Set(run.results.cells.flatMap { $0.commits.map { "\($0.key)=\($0.value)" } })
            do {
                try await retry.run("record the revisions of \(entry.matrix)") {
                    try await store.setServiceValue("revisions.\(entry.matrix)", commits.sorted().joined(separator: " "))
                }
            } catch {
                log.warning("the run's revisions were not recorded, so the next schedule runs it again: \(error)")
            }
            let counts = run.results.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            log.info("run finished: \(counts); \(run.findings.count) finding(s)")
            retention?.runFinished()
            if !run.findings.isEmpty {
                let summary = DashboardRun(
                    run.results, trigger: entry.reason, commits: DashboardPublisher.commits(of: run.results.cells),
                    findings: run.findings.map(DashboardPublisher.dashboardFinding))
                notifications?.post(RunNotification(run: summary))
            }
        case .failure(let error):
            ending = error is CancellationError || cancelled ? .cancelled : .failed("\(error)")
            do {
                try await retry.run("mark run \(runID) interrupted") { try await store.markInterrupted(runID) }
            } catch {
                log.warning("run \(runID) not marked interrupted (the next run marks it): \(error)")
            }
        }
        // Stopping (the handler cancelled the run before the loop saw it): the run goes
        // back to the queue, not down as cancelled by `nestci cancel`.
        if stopping.withLock({ $0 }) { _ = machine.stop() }
        guard let record = machine.runEnded(ending) else {
            current = nil
            return
        }
        switch (ending, record.state) {
        case (.cancelled, .queued): log.warning("run interrupted by the service stopping; it resumes on restart")
        case (.cancelled, _): log.warning("run cancelled")
        case (.failed(let message), _): log.error("run failed to run: \(message)")
        case (.finished, _): break
        }
        await hooks.beforeRecording?(record)
        await writeUnrecorded()
        current = nil
        dashboard?.changed()
    }

    /// Writes the ended run's row; on failure the machine keeps it and the next tick retries.
    private func writeUnrecorded() async {
        guard let record = machine.unrecorded else { return }
        do {
            try await retry.run("record queue request \(record.entryID) as \(record.state.rawValue)") {
                try await store.setQueueState(record.entryID, record.state, message: record.message)
            }
            machine.recorded(true)
            failures.succeeded("record \(record.entryID)", logger: logger)
        } catch {
            machine.recorded(false)
            failures.failed("record \(record.entryID)", "queue request \(record.entryID) not yet recorded as \(record.state.rawValue) (retrying every \(tick)): \(error)", logger: logger)
        }
    }

    private func checkCancel() async {
        guard case .running(let entryID, let runID, false) = machine.state else { return }
        do {
            let entry = try await retry.run("read queue request \(entryID)") { try await store.queueEntry(entryID) }
            guard entry?.cancelRequested == true, machine.cancelRequested() else { return }
            logger.info("cancel requested", ["run.id": runID])
            current?.cancel()
        } catch {
            failures.failed("cancel \(entryID)", "cannot read whether run \(runID) was cancelled (retrying): \(error)", logger: logger, level: .warning)
        }
    }
}

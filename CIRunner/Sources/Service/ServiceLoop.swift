import Foundation
import Hypervisor
import Matrix

/// `nestci serve`: the long-running service. An actor around a small lifecycle
/// (initial → running → shuttingDown → shutdown) that, once a tick, fires due schedules,
/// polls watched branches, and runs the queue one run at a time (each run uses the
/// configured boot slots). Runs come only through the store's queue, so `nestci trigger`
/// and `nestci cancel` need no network port.
public actor ServiceLoop {
    public enum State: Sendable, Equatable { case initial, running, shuttingDown, shutdown }

    public let config: ServiceConfig
    public let storePath: String
    let logger: Logger
    let now: @Sendable () -> Date
    let tick: Duration
    private(set) var state: State = .initial
    private var store: ArtifactStore?
    private var current: (entry: QueueEntry, runID: String, task: Task<Void, Never>)?
    private var lastPoll: ContinuousClock.Instant?
    private var watches: [String: BranchWatchState] = [:]
    /// Called after a cell or a run finished (the dashboard), throttled by the caller.
    let onChange: @Sendable () async -> Void
    /// Per-cell dashboard refreshes and webhook deliveries: a stop waits for them.
    let children = ChildTasks()

    public init(
        config: ServiceConfig, storePath: String, logger: Logger, tick: Duration = .milliseconds(500),
        now: @escaping @Sendable () -> Date = Date.init, onChange: @escaping @Sendable () async -> Void = {}
    ) {
        self.config = config
        self.storePath = storePath
        self.logger = logger
        self.tick = tick
        self.now = now
        self.onChange = onChange
    }

    /// Runs until ``stop()``; returns after the current run was torn down and recorded.
    public func run() async throws {
        guard state == .initial else { return }
        state = .running
        let store = try ArtifactStore(root: storePath)
        self.store = store
        try await recover(store)
        logger.info("serving \(config.matrices.count) matrices from \(config.file); store \(storePath)")
        await onChange()
        while state == .running {
            await fireSchedules(store)
            await pollBranches(store)
            await startNextRun(store)
            await checkCancel(store)
            try? await Task.sleep(for: tick)
        }
        if let current {
            current.task.cancel()
            await current.task.value
        }
        // The last run's webhook (with its retries) and dashboard refreshes finish first.
        await children.wait()
        state = .shutdown
        logger.info("stopped")
    }

    /// Stop taking work; the running run is torn down (its cells in flight are not
    /// recorded and run again when the service comes back).
    public func stop() {
        if state == .running { state = .shuttingDown }
        if state == .initial { state = .shutdown }
    }

    public var isIdle: Bool { current == nil }

    // MARK: Crash recovery

    /// Requests a dead service left running go back to the queue with their run id, so
    /// their finished cells are kept; any emulator of theirs still alive is killed first.
    private func recover(_ store: ArtifactStore) async throws {
        for entry in try await store.requeueRunning() {
            guard let runID = entry.runID else { continue }
            let folder = RunLayout(store: storePath).run(runID)
            let strays = EmulatorSweep.kill(mentioning: folder)
            logger.warning("resuming run interrupted by a previous service; killed \(strays.count) stray emulator(s)", ["run.id": runID])
        }
    }

    // MARK: Schedules

    private func fireSchedules(_ store: ArtifactStore) async {
        let now = now()
        for entry in config.matrices {
            guard let schedule = entry.schedule else { continue }
            let key = "schedule.\(entry.name)"
            let last = (try? await store.serviceValue(key)).flatMap { Double($0) }.map(Date.init(timeIntervalSince1970:))
            guard schedule.isDue(lastFired: last, now: now) else { continue }
            try? await store.setServiceValue(key, String(now.timeIntervalSince1970))
            let log = logger.with("matrix", entry.name)
            // An unchanged revision set is not run again by the schedule.
            if let revisions = await Self.revisionSet(matrixPath: entry.path, logger: log),
                let previous = try? await store.serviceValue("revisions.\(entry.name)"), previous == revisions
            {
                log.info("schedule fired; revisions unchanged since the last run, not repeated (`nestci trigger` runs it anyway)")
                continue
            }
            let reason = "schedule (\(schedule))"
            _ = try? await store.enqueue(matrixPath: entry.path, matrix: entry.name, reason: reason)
            log.info("queued: \(reason)")
        }
    }

    /// `component=commit` for every build revision of a matrix, sorted: what a run would test.
    static func revisionSet(matrixPath: String, logger: Logger) async -> String? {
        guard let matrix = try? MatrixFile.load(path: matrixPath), let plan = try? matrix.plan() else { return nil }
        // Builds repeat (repository, revision) across opt and bits: ask each repository once.
        let byRepository = Dictionary(grouping: plan.builds.map(\.spec), by: \.repository)
        let poller = BranchPoller(logger: logger)
        var pairs = Set<String>()
        for (repository, specs) in byRepository {
            let revisions = Array(Set(specs.map(\.revision)))
            guard let commits = try? await poller.resolve(repository: repository, branches: revisions) else { return nil }
            for spec in specs { pairs.insert("\(spec.component)=\(commits[spec.revision] ?? spec.revision)") }
        }
        return pairs.sorted().joined(separator: " ")
    }

    // MARK: Branch polling

    private func pollBranches(_ store: ArtifactStore) async {
        let clock = ContinuousClock()
        if let lastPoll, clock.now - lastPoll < config.pollInterval { return }
        lastPoll = clock.now
        for entry in config.watchedMatrices {
            let log = logger.with("matrix", entry.name)
            guard let matrix = try? MatrixFile.load(path: entry.path), let branches = try? BranchPoller.branches(of: matrix) else {
                log.warning("cannot read the matrix to poll its branches: \(entry.path)")
                continue
            }
            var watch: BranchWatchState
            if let known = watches[entry.name] {
                watch = known
            } else {
                watch = await Self.loadWatch(store, entry.name, debounce: TimeInterval(config.debounceSeconds))
            }
            let (observations, _) = await BranchPoller(logger: log).poll(branches)
            let action = watch.observe(observations, at: now())
            watches[entry.name] = watch
            if let data = try? JSONEncoder().encode(watch) {
                try? await store.setServiceValue("watch.\(entry.name)", String(decoding: data, as: UTF8.self))
            }
            if case .trigger(_, let reason, _) = action {
                _ = try? await store.enqueue(matrixPath: entry.path, matrix: entry.name, reason: reason)
                log.info("queued: \(reason)")
            }
        }
    }

    /// The watch state a previous service saved (baselines survive restarts), or a new one.
    private static func loadWatch(_ store: ArtifactStore, _ name: String, debounce: TimeInterval) async -> BranchWatchState {
        if let text = try? await store.serviceValue("watch.\(name)"),
            let saved = try? JSONDecoder().decode(BranchWatchState.self, from: Data(text.utf8))
        {
            return saved
        }
        return BranchWatchState(matrix: name, debounce: debounce)
    }

    // MARK: Runs

    private func startNextRun(_ store: ArtifactStore) async {
        guard current == nil, state == .running, let entry = try? await store.nextQueued() else { return }
        let resume = entry.runID != nil
        let runID = entry.runID ?? ArtifactStore.newRunID(now: now())
        try? await store.setQueueState(entry.id, .running, runID: runID)
        let log = logger.with("run.id", runID).with("matrix", entry.matrix)
        log.info("\(resume ? "resuming" : "starting") run: \(entry.reason)")
        let options = RunOptions(store: storePath, slots: config.slots, trigger: entry.reason)
        let onChange = self.onChange
        let children = self.children
        let task = Task {
            let outcome: Result<RunOutcome, any Error>
            do {
                let plan = try MatrixFile.load(path: entry.matrixPath).plan()
                let resumable = resume ? (try await store.run(runID)) != nil : false
                let scheduler = RunScheduler(options: options) { event in
                    if case .cellFinished(let result) = event {
                        log.info("\(result.outcome.rawValue) \(result.levels) [\(result.backend) smp\(result.smp)]: \(result.reason)", ["cell.id": result.cellID])
                        children.spawn { await onChange() }
                    }
                }
                outcome = .success(try await scheduler.run(plan, matrixPath: entry.matrixPath, runID: runID, resume: resumable))
            } catch {
                outcome = .failure(error)
            }
            await self.finished(entry, runID: runID, outcome, store: store, log: log)
        }
        current = (entry, runID, task)
    }

    private func finished(_ entry: QueueEntry, runID: String, _ outcome: Result<RunOutcome, any Error>, store: ArtifactStore, log: Logger) async {
        switch outcome {
        case .success(let run):
            try? await store.setQueueState(entry.id, .done)
            let commits = Set(run.results.cells.flatMap { $0.commits.map { "\($0.key)=\($0.value)" } })
            try? await store.setServiceValue("revisions.\(entry.matrix)", commits.sorted().joined(separator: " "))
            let counts = run.results.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            log.info("run finished: \(counts); \(run.findings.count) finding(s)")
            do {
                let pruned = try await store.prune(policy: config.retention, now: now())
                if !pruned.isEmpty { log.info("retention pruned \(pruned.pruned.count) run(s), \(pruned.bytesFreed) bytes freed") }
            } catch {
                log.warning("retention failed: \(error)")
            }
            if !run.findings.isEmpty, let webhook = config.webhook {
                let summary = DashboardRun(
                    run.results, trigger: entry.reason, commits: DashboardPublisher.commits(of: run.results.cells),
                    findings: run.findings.map(DashboardPublisher.dashboardFinding))
                let notifier = WebhookNotifier(webhook, logger: log)
                // Never blocks the queue: delivery (with its retries) runs on its own, and a
                // stop waits for it.
                children.spawn { _ = await notifier.send(RunNotification(run: summary)) }
            }
        case .failure(let error):
            let cancelled = error is CancellationError || Task.isCancelled
            try? await store.markInterrupted(runID)
            if cancelled, state != .running {
                // Shutting down: back to the queue so the next service resumes it.
                try? await store.setQueueState(entry.id, .queued, message: "interrupted by a service stop")
                log.warning("run interrupted by the service stopping; it resumes on restart")
            } else if cancelled {
                try? await store.setQueueState(entry.id, .cancelled, message: "cancelled by nestci cancel")
                log.warning("run cancelled")
            } else {
                try? await store.setQueueState(entry.id, .failed, message: "\(error)")
                log.error("run failed to run: \(error)")
            }
        }
        current = nil
        await onChange()
    }

    private func checkCancel(_ store: ArtifactStore) async {
        guard let current, let entry = try? await store.queueEntry(current.entry.id), entry.cancelRequested else { return }
        logger.info("cancel requested", ["run.id": current.runID])
        current.task.cancel()
    }
}

/// Finds and kills emulator processes by their command line (a crashed nestci's leftovers).
public enum EmulatorSweep {
    /// Kills (SIGKILL, whole group) every qemu/Bochs whose command line mentions `text`;
    /// returns their pids.
    @discardableResult
    public static func kill(mentioning text: String) -> [Int32] {
        let found = find(mentioning: text)
        for pid in found {
            let group = getpgid(pid)
            if group > 1 { Glibc.kill(-group, SIGKILL) } else { Glibc.kill(pid, SIGKILL) }
        }
        return found
    }

    public static func find(mentioning text: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            guard command.contains("qemu-system") || command.contains("bochs") else { return nil }
            return command.contains(text) ? pid : nil
        }
    }
}

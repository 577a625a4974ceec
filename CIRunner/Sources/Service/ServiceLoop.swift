import Foundation
import Hypervisor
import Matrix

/// `nestci serve`: the long-running service, one ``Service`` per concern in a
/// ``ServiceGroup``: the dashboard, retention, notifications, the queue, branch polling and
/// schedules (started in that order, stopped in reverse: producers of work first, then the
/// queue tears its run down, then what reports on it).
///
/// Runs come only through the store's queue, so `nestci trigger` and `nestci cancel` need
/// no network port.
public actor ServiceLoop {
    public enum State: Sendable, Equatable { case initial, running, shuttingDown, shutdown }

    public let config: ServiceConfig
    public let storePath: String
    let logger: Logger
    let now: @Sendable () -> Date
    let tick: Duration
    /// Where the dashboard is published (nil: not published).
    let dashboardFolder: String?
    let hooks: QueueService.Hooks
    /// How investigation jobs are carried out (nil: the real bisect and triage).
    let runners: InvestigationRunners?
    private(set) var state: State = .initial
    private var group: ServiceGroup?

    public init(
        config: ServiceConfig, storePath: String, logger: Logger, tick: Duration = .milliseconds(500),
        now: @escaping @Sendable () -> Date = Date.init, dashboard: String? = nil, hooks: QueueService.Hooks = QueueService.Hooks(),
        runners: InvestigationRunners? = nil
    ) {
        self.runners = runners
        self.config = config
        self.storePath = storePath
        self.logger = logger
        self.tick = tick
        self.now = now
        self.dashboardFolder = dashboard
        self.hooks = hooks
    }

    /// The services, in start order. A new concern (bisection, triage, an executor) is one
    /// more line here.
    func services(store: ArtifactStore) -> [[any Service]] {
        let log = { (name: String) in self.logger.with("service", name) }
        let dashboard = dashboardFolder.map { DashboardService(store: storePath, folder: $0, logger: log("dashboard")) }
        let retention = RetentionService(store: store, policy: config.retention, logger: log("retention"), tick: tick, now: now)
        let notifications = NotificationService(webhook: config.webhook, logger: log("notifications"))
        let options = RunOptions(store: storePath, slots: config.slots, canary: HostCanary())
        let queue = QueueService(
            store: store, options: options, logger: logger, tick: tick, dashboard: dashboard, retention: retention,
            notifications: notifications, hooks: hooks, now: now, executor: config.executor)
        let polling = BranchPollingService(
            matrices: config.watchedMatrices, store: store, logger: log("branch-polling"), interval: config.pollInterval,
            debounce: TimeInterval(config.debounceSeconds), now: now)
        let schedules = ScheduleService(matrices: config.matrices, store: store, logger: log("schedules"), tick: tick, now: now)
        let runners = self.runners ?? .standard(store: store, options: options, logger: log("investigations"))
        let investigations = InvestigationService(
            store: store, matrices: config.matrices, logger: log("investigations"), tick: tick, dashboard: dashboard, notifications: notifications, now: now,
            runBisect: runners.bisect, runTriage: runners.triage)
        let consumers: [(any Service)?] = [dashboard, retention, notifications]
        // The producers of work stop together: the running run is torn down at once.
        return consumers.compactMap { $0 }.map { [$0] } + [[queue, polling, schedules, investigations]]
    }

    /// Runs until ``stop()``; returns after the current run was torn down and recorded.
    public func run() async throws {
        guard state == .initial else { return }
        state = .running
        let store = try ArtifactStore(root: storePath)
        try await recover(store)
        logger.info("serving \(config.matrices.count) matrices from \(config.file); store \(storePath)")
        let group = ServiceGroup(stages: services(store: store), logger: logger)
        self.group = group
        // A stop that came while recovering: the group shuts down as soon as it started.
        if state != .running { await group.shutdown() }
        do {
            try await group.run()
        } catch {
            state = .shutdown
            throw error
        }
        state = .shutdown
        logger.info("stopped")
    }

    /// Stop taking work; the running run is torn down (its cells in flight are not
    /// recorded and run again when the service comes back).
    public func stop() async {
        switch state {
        case .initial: state = .shutdown
        case .running:
            state = .shuttingDown
            await group?.shutdown()
        case .shuttingDown, .shutdown: break
        }
    }

    // MARK: Crash recovery

    /// Requests a dead service left running go back to the queue with their run id, so
    /// their finished cells are kept; any emulator of theirs still alive is killed first.
    private func recover(_ store: ArtifactStore) async throws {
        let swept = ProcessRegistry.shared.attachLedger(store: storePath)
        if !swept.killed.isEmpty { logger.warning("killed \(swept.killed.count) process(es) left by \(swept.owners) dead nestci process(es)") }
        for entry in try await StoreRetry(logger: logger).run("re-queue interrupted requests", { try await store.requeueRunning() }) {
            guard let runID = entry.runID else { continue }
            let folder = RunLayout(store: storePath).run(runID)
            let strays = EmulatorSweep.kill(mentioning: folder)
            logger.warning("resuming run interrupted by a previous service; killed \(strays.count) stray emulator(s)", ["run.id": runID])
        }
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
        // No /proc (not Linux): nothing can be found, and there is nothing to report.
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            guard command.contains("qemu-system") || command.contains("bochs") else { return nil }
            return command.contains(text) ? pid : nil
        }
    }
}

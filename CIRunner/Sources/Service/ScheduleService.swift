import Foundation
import Hypervisor
import Matrix

/// Fires the matrices' schedules: queues a run when one is due, unless its revisions are
/// those of the last run (``ScheduleStateMachine``).
public actor ScheduleService: Service {
    public nonisolated let name = "schedules"
    let matrices: [ServiceConfig.MatrixEntry]
    let store: ArtifactStore
    let logger: Logger
    let now: @Sendable () -> Date
    let tick: Duration
    private var machine: ScheduleStateMachine
    private var failures = FailureLog()

    public init(
        matrices: [ServiceConfig.MatrixEntry], store: ArtifactStore, logger: Logger, tick: Duration = .milliseconds(500),
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.matrices = matrices
        self.store = store
        self.logger = logger
        self.tick = tick
        self.now = now
        machine = ScheduleStateMachine(entries: matrices.compactMap { entry in entry.schedule.map { .init(matrix: entry.name, schedule: $0) } })
    }

    public func run() async {
        while !Task.isCancelled {
            for action in machine.tick(now: now()) { await perform(action) }
            // Cancellation ends the sleep early, which is how the loop ends.
            try? await Task.sleep(for: tick)
        }
    }

    private func perform(_ action: ScheduleStateMachine.Action) async {
        let retry = StoreRetry(logger: logger)
        switch action {
        case .load(let name):
            do {
                let text = try await retry.run("read the last firing of \(name)") { try await store.serviceValue("schedule.\(name)") }
                machine.loaded(matrix: name, lastFired: text.flatMap(Double.init).map(Date.init(timeIntervalSince1970:)))
                failures.succeeded("schedule \(name)", logger: logger)
            } catch {
                failures.failed("schedule \(name)", "schedule \(name): cannot read when it last fired, so it is not fired yet: \(error)", logger: logger)
            }
        case .fire(let name, let at):
            guard let entry = matrices.first(where: { $0.name == name }), let schedule = entry.schedule else { return }
            let log = logger.with("matrix", name)
            do {
                try await retry.run("record the firing of \(name)") { try await store.setServiceValue("schedule.\(name)", String(at.timeIntervalSince1970)) }
            } catch {
                // Fired in memory already; a restart may fire it once more, which is the safe side.
                log.error("schedule fired but its time was not recorded (a restart may fire it again): \(error)")
            }
            let revisions = await Self.revisionSet(matrixPath: entry.path, logger: log)
            let previous: String?
            do {
                previous = try await retry.run("read the last revisions of \(name)") { try await store.serviceValue("revisions.\(name)") }
            } catch {
                log.warning("cannot read the last run's revisions, so the run is queued: \(error)")
                previous = nil
            }
            if ScheduleStateMachine.decide(revisions: revisions, previous: previous) == .unchanged {
                log.info("schedule fired; revisions unchanged since the last run, not repeated (`nestci trigger` runs it anyway)")
                return
            }
            let reason = "schedule (\(schedule))"
            do {
                _ = try await retry.run("queue \(name)") { try await store.enqueue(matrixPath: entry.path, matrix: name, reason: reason) }
                log.info("queued: \(reason)")
            } catch {
                log.error("schedule fired but the run could not be queued (it fires again at its next time; `nestci trigger` runs it now): \(error)")
            }
        }
    }

    /// `component=commit` for every build revision of a matrix, sorted: what a run would
    /// test. Nil when the matrix or a repository cannot be read (then the run is queued,
    /// and the run itself reports the trouble).
    static func revisionSet(matrixPath: String, logger: Logger) async -> String? {
        let plan: Plan
        do {
            plan = try MatrixFile.load(path: matrixPath).plan()
        } catch {
            logger.warning("cannot plan the matrix to compare revisions: \(error)")
            return nil
        }
        // Builds repeat (repository, revision) across opt and bits: ask each repository once.
        let byRepository = Dictionary(grouping: plan.builds.map(\.spec), by: \.repository)
        let poller = BranchPoller(logger: logger)
        var pairs = Set<String>()
        for (repository, specs) in byRepository {
            let revisions = Array(Set(specs.map(\.revision)))
            do {
                let commits = try await poller.resolve(repository: repository, branches: revisions)
                for spec in specs { pairs.insert("\(spec.component)=\(commits[spec.revision] ?? spec.revision)") }
            } catch {
                logger.warning("cannot resolve the revisions of \(repository): \(error)")
                return nil
            }
        }
        return pairs.sorted().joined(separator: " ")
    }
}

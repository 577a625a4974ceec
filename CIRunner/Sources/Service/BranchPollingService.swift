import Foundation
import Matrix

/// Polls the watched matrices' branches with `git ls-remote` and queues a run once a moved
/// branch has been still for the debounce time (``BranchWatchState`` decides).
public actor BranchPollingService: Service {
    public nonisolated let name = "branch-polling"
    let matrices: [ServiceConfig.MatrixEntry]
    let store: ArtifactStore
    let logger: Logger
    let interval: Duration
    let debounce: TimeInterval
    let now: @Sendable () -> Date
    private var watches: [String: BranchWatchState] = [:]
    private var failures = FailureLog()

    public init(
        matrices: [ServiceConfig.MatrixEntry], store: ArtifactStore, logger: Logger, interval: Duration, debounce: TimeInterval,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.matrices = matrices
        self.store = store
        self.logger = logger
        self.interval = interval
        self.debounce = debounce
        self.now = now
    }

    public func run() async {
        while !Task.isCancelled {
            for entry in matrices {
                guard !Task.isCancelled else { break }
                await poll(entry)
            }
            // Cancellation ends the sleep early, which is how the loop ends.
            try? await Task.sleep(for: interval)
        }
    }

    private func poll(_ entry: ServiceConfig.MatrixEntry) async {
        let log = logger.with("matrix", entry.name)
        let retry = StoreRetry(logger: log)
        let branches: [WatchedBranch]
        do {
            branches = try BranchPoller.branches(of: try MatrixFile.load(path: entry.path))
            failures.succeeded("poll \(entry.name)", logger: log)
        } catch {
            failures.failed("poll \(entry.name)", "cannot read the matrix to poll its branches: \(error)", logger: log, level: .warning)
            return
        }
        var watch: BranchWatchState
        if let known = watches[entry.name] {
            watch = known
        } else {
            do {
                watch = try await loadWatch(entry.name, retry: retry)
            } catch {
                // Without the saved baselines every branch would look new: wait for the store.
                failures.failed("watch \(entry.name)", "cannot read the saved branch state; not polling yet: \(error)", logger: log)
                return
            }
            failures.succeeded("watch \(entry.name)", logger: log)
        }
        // `poll` logs each branch it could not reach; those keep their state.
        let (observations, _) = await BranchPoller(logger: log).poll(branches)
        let action = watch.observe(observations, at: now())
        if case .trigger(_, let reason, _) = action {
            do {
                _ = try await retry.run("queue \(entry.name)") { try await store.enqueue(matrixPath: entry.path, matrix: entry.name, reason: reason) }
                log.info("queued: \(reason)")
            } catch {
                // Not taking the new state: the next poll sees the same move and tries again.
                log.error("a moved branch could not be queued (retried at the next poll): \(error)")
                return
            }
        }
        watches[entry.name] = watch
        do {
            let text = String(decoding: try JSONEncoder().encode(watch), as: UTF8.self)
            try await retry.run("save the branch state of \(entry.name)") { try await store.setServiceValue("watch.\(entry.name)", text) }
        } catch {
            log.warning("branch state not saved (a restart may queue this move again): \(error)")
        }
    }

    /// The watch state a previous service saved (baselines survive restarts), or a new one.
    private func loadWatch(_ name: String, retry: StoreRetry) async throws -> BranchWatchState {
        let saved = try await retry.run("read the branch state of \(name)") { try await store.serviceValue("watch.\(name)") }
        guard let saved else { return BranchWatchState(matrix: name, debounce: debounce) }
        do {
            return try JSONDecoder().decode(BranchWatchState.self, from: Data(saved.utf8))
        } catch {
            logger.warning("the saved branch state of \(name) is unreadable, starting afresh: \(error)")
            return BranchWatchState(matrix: name, debounce: debounce)
        }
    }
}

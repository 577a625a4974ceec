import Foundation
import Hypervisor

/// Prunes old evidence (``RetentionPolicy``) after each finished run.
///
/// The queue calls ``runFinished()``; pruning happens on this service's own tick, so a slow
/// prune never delays the next run's start and a failed one is retried at the next run.
public actor RetentionService: Service {
    public nonisolated let name = "retention"
    let store: ArtifactStore
    let policy: RetentionPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    let tick: Duration
    private nonisolated let due = Mutex(false)

    public init(store: ArtifactStore, policy: RetentionPolicy, logger: Logger, tick: Duration = .milliseconds(500), now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.policy = policy
        self.logger = logger
        self.tick = tick
        self.now = now
    }

    /// A run finished: prune at the next tick.
    public nonisolated func runFinished() { due.withLock { $0 = true } }

    public func run() async {
        while !Task.isCancelled {
            if due.withLock({ value in defer { value = false }; return value }) { await prune() }
            // Cancellation ends the sleep early, which is how the loop ends.
            try? await Task.sleep(for: tick)
        }
    }

    func prune() async {
        do {
            let report = try await StoreRetry(logger: logger).run("retention") { try await store.prune(policy: policy, now: now()) }
            if !report.isEmpty { logger.info("retention pruned \(report.pruned.count) run(s), \(report.bytesFreed) bytes freed") }
        } catch {
            logger.warning("retention failed (tried again after the next run): \(error)")
        }
    }
}

import Foundation
import Hypervisor

/// When to publish the dashboard: at start, after changes at most once per interval, and
/// once more on the way down if anything changed since. Pure; ``DashboardService`` ticks it.
public struct PublishThrottle: Sendable, Equatable {
    public let interval: Duration
    private(set) var dirty = true
    private(set) var last: ContinuousClock.Instant?

    public init(interval: Duration) { self.interval = interval }

    /// Something the dashboard shows changed.
    public mutating func changed() { dirty = true }

    /// Whether to publish at `now`; if so, the change counts as published.
    public mutating func tick(now: ContinuousClock.Instant) -> Bool {
        guard dirty else { return false }
        if let last, now - last < interval { return false }
        dirty = false
        last = now
        return true
    }

    /// Whether the final publish on shutdown has anything to show.
    public mutating func stopping() -> Bool {
        defer { dirty = false }
        return dirty
    }
}

/// Publishes the static dashboard from the store while the service runs.
///
/// Other services call ``changed()`` (non-blocking, from any context, e.g. a run's event
/// callback); the service publishes on its own tick through ``PublishThrottle``, so a burst
/// of finished cells costs one publish, and no unawaited task is left per change.
public actor DashboardService: Service {
    public nonisolated let name = "dashboard"
    let storePath: String
    let folder: String
    let logger: Logger
    let tick: Duration
    private nonisolated let throttle: Mutex<PublishThrottle>
    private var failures = FailureLog()
    /// One connection for the service's lifetime, opened on first use.
    private var store: ArtifactStore?

    public init(store: String, folder: String, logger: Logger, interval: Duration = .seconds(2), tick: Duration = .milliseconds(200)) {
        self.storePath = store
        self.folder = folder
        self.logger = logger
        self.tick = tick
        self.throttle = Mutex(PublishThrottle(interval: interval))
    }

    /// Something the dashboard shows changed; published within the throttle's interval.
    public nonisolated func changed() { throttle.withLock { $0.changed() } }

    public func run() async {
        while !Task.isCancelled {
            if throttle.withLock({ $0.tick(now: ContinuousClock.now) }) { await publishNow() }
            // Cancellation ends the sleep early, which is how the loop ends.
            try? await Task.sleep(for: tick)
        }
        if throttle.withLock({ $0.stopping() }) { await publishNow() }
    }

    /// Publishes at once. A failure is logged and the next change tries again: an old
    /// dashboard is better than a stopped service.
    public func publishNow() async {
        do {
            let store = try self.store ?? ArtifactStore(root: storePath)
            self.store = store
            try await DashboardPublisher(store: store, folder: folder, logger: logger).publish()
            failures.succeeded("dashboard", logger: logger)
        } catch {
            failures.failed("dashboard", "dashboard not updated: \(error)", logger: logger, level: .warning)
        }
    }
}

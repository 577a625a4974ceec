/// One concern of `nestci serve` (schedules, branch polling, the queue, retention,
/// notifications, the dashboard), run by a ``ServiceGroup``.
///
/// As in swift-service-lifecycle: ``run()`` does the service's work until its task is
/// cancelled, then finishes what must not be lost (the queue records its run, the
/// notifier delivers what is pending) and returns. Throwing ends the whole group.
public protocol Service: Sendable {
    /// A short name for logs (`queue`, `schedules`).
    var name: String { get }
    /// Works until cancelled; returns soon after cancellation.
    func run() async throws
}

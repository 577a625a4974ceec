import Foundation
import Hypervisor

/// Sends the webhook when a run with findings finished.
///
/// The queue ``post(_:)``s and goes on with the next run; this service delivers in order
/// (each delivery with the notifier's own timeout and retries). A stop still delivers what
/// was posted: the night's last run is the one people wait for.
public actor NotificationService: Service {
    public nonisolated let name = "notifications"
    let webhook: ServiceConfig.Webhook?
    let logger: Logger
    let tick: Duration
    private nonisolated let pending = Mutex<[RunNotification]>([])

    public init(webhook: ServiceConfig.Webhook?, logger: Logger, tick: Duration = .milliseconds(200)) {
        self.webhook = webhook
        self.logger = logger
        self.tick = tick
    }

    /// Queues `notification` for delivery; dropped when no webhook is configured.
    public nonisolated func post(_ notification: RunNotification) {
        guard webhook != nil else { return }
        pending.withLock { $0.append(notification) }
    }

    public func run() async {
        while !Task.isCancelled {
            await deliverPending()
            // Cancellation ends the sleep early, which is how the loop ends.
            try? await Task.sleep(for: tick)
        }
        // Stopping: deliver what is left outside the cancelled task (a cancelled request
        // would fail at once), bounded by the notifier's timeout and retries.
        await Task { await self.deliverPending() }.value
    }

    private func deliverPending() async {
        guard let webhook else { return }
        while let next = pending.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            // The notifier logs each attempt and the final failure itself.
            _ = await WebhookNotifier(webhook, logger: logger.with("run.id", next.run)).send(next)
        }
    }
}

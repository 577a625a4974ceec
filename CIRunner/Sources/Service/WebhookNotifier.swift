import Dispatch
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What happened to one webhook delivery. A webhook is a courtesy: a failure is reported
/// here and logged, never thrown into the run that caused it.
public struct WebhookDelivery: Sendable {
    public struct Attempt: Sendable {
        /// HTTP status, when the server answered.
        public var status: Int?
        /// Why it failed, when it did ("HTTP 500", "timed out after 10 s", "connection refused").
        public var error: String?
        public var seconds: Double
    }

    public var delivered: Bool
    public var attempts: [Attempt]

    /// `delivered after 2 attempts`, `not delivered: HTTP 500; timed out after 10 s`.
    public var summary: String {
        if delivered { return attempts.count == 1 ? "delivered" : "delivered after \(attempts.count) attempts" }
        return "not delivered: " + attempts.compactMap(\.error).joined(separator: "; ")
    }
}

/// POSTs JSON to a webhook with a deadline per attempt and retries with exponential backoff.
public struct WebhookNotifier: Sendable {
    public var url: URL
    /// Deadline per attempt.
    public var timeout: Duration
    /// Further attempts after the first.
    public var retries: Int
    /// Wait before the first retry; doubled each time (1 s, 2 s, 4 s ... capped at a minute).
    public var backoff: Duration
    public var logger: Logger

    public init(url: URL, timeout: Duration = .seconds(10), retries: Int = 3, backoff: Duration = .seconds(1), logger: Logger = .discarding) {
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.logger = logger.with("webhook.url", url.absoluteString)
    }

    /// From the service config's `webhook` entry.
    public init(_ config: ServiceConfig.Webhook, logger: Logger) {
        self.init(url: config.url, timeout: .seconds(config.timeoutSeconds), retries: config.retries, logger: logger)
    }

    /// Encodes `payload` (ISO 8601 dates) and delivers it. Never throws; cancellation stops
    /// retrying and reports what happened so far.
    public func send(_ payload: some Encodable) async -> WebhookDelivery {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The encoder's error says nothing an operator can act on; the failure is logged below.
        guard let body = try? encoder.encode(payload) else {
            logger.error("webhook payload could not be encoded as JSON")
            return WebhookDelivery(delivered: false, attempts: [.init(status: nil, error: "payload not encodable", seconds: 0)])
        }
        return await send(body: body)
    }

    /// Delivers a JSON body as it is.
    public func send(body: Data) async -> WebhookDelivery {
        var attempts: [WebhookDelivery.Attempt] = []
        var wait = backoff
        for number in 0...retries {
            if number > 0 {
                do { try await Task.sleep(for: wait) } catch { break }
                wait = min(wait * 2, .seconds(60))
            }
            let attempt = await post(body)
            attempts.append(attempt)
            if attempt.error == nil {
                logger.info("webhook delivered", ["attempts": "\(attempts.count)"])
                return WebhookDelivery(delivered: true, attempts: attempts)
            }
            let final = number == retries
            logger.log(final ? .error : .warning, final ? "webhook not delivered, giving up" : "webhook failed, retrying", ["error": attempt.error ?? "", "attempt": "\(number + 1)"])
            if Task.isCancelled { break }
        }
        return WebhookDelivery(delivered: false, attempts: attempts)
    }

    /// One POST. The deadline is enforced here and not only through `timeoutInterval`:
    /// on Linux that is an idle timeout, and a server that trickles bytes would never trip it.
    private func post(_ body: Data) async -> WebhookDelivery.Attempt {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout.seconds)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("nestci/\(NestCI.version)", forHTTPHeaderField: "User-Agent")
        let started = ContinuousClock.now
        let timeout = self.timeout
        let outcome = Once<(Int?, String?)>()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.seconds
        configuration.timeoutIntervalForResource = timeout.seconds
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let result: (Int?, String?) = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                outcome.onFirst { continuation.resume(returning: $0) }
                let task = session.dataTask(with: request) { _, response, error in
                    if let error {
                        let nsError = error as NSError
                        let text = nsError.code == NSURLErrorTimedOut ? "timed out after \(Int(timeout.seconds)) s" : nsError.localizedDescription
                        outcome.set((nil, text))
                    } else if let http = response as? HTTPURLResponse {
                        outcome.set((http.statusCode, (200..<300).contains(http.statusCode) ? nil : "HTTP \(http.statusCode)"))
                    } else {
                        outcome.set((nil, "no HTTP response"))
                    }
                }
                outcome.onCancel { task.cancel() }
                task.resume()
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) {
                    outcome.set((nil, "timed out after \(Int(timeout.seconds)) s"))
                }
            }
        } onCancel: {
            outcome.set((nil, "cancelled"))
        }
        return WebhookDelivery.Attempt(status: result.0, error: result.1, seconds: (ContinuousClock.now - started).seconds)
    }
}

/// A value set at most once from any thread; whoever sets it first wins, the rest are
/// ignored. The deadline, the response and cancellation race through one of these.
final class Once<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?
    private var deliver: (@Sendable (Value) -> Void)?
    private var cancelWork: (@Sendable () -> Void)?

    /// Receives the value, at once if it is already set (cancelled before we got here).
    func onFirst(_ body: @escaping @Sendable (Value) -> Void) {
        let already: Value? = lock.withLock {
            if let value { return value }
            deliver = body
            return nil
        }
        if let already { body(already) }
    }

    /// Runs once the value is set (to cancel the losing side).
    func onCancel(_ body: @escaping @Sendable () -> Void) {
        let already = lock.withLock { () -> Bool in
            if value != nil { return true }
            cancelWork = body
            return false
        }
        if already { body() }
    }

    func set(_ newValue: Value) {
        let (deliver, cancel): ((@Sendable (Value) -> Void)?, (@Sendable () -> Void)?) = lock.withLock {
            guard value == nil else { return (nil, nil) }
            value = newValue
            defer { self.deliver = nil; cancelWork = nil }
            return (self.deliver, cancelWork)
        }
        deliver?(newValue)
        cancel?()
    }
}

import Foundation

/// Store calls of the service, retried while the database is locked.
///
/// Another writer (`nestci run` beside the service, `nestci trigger`, a second store
/// connection) can keep SQLite busy past the busy timeout; that is weather, not a bug, so
/// the service waits and tries again with backoff instead of dropping the write (a queue
/// row left `running`, a schedule fired twice). Any other error is thrown at once.
public struct StoreRetry: Sendable {
    /// Tries in all (the first included).
    public var attempts: Int
    /// Wait before the second try; doubled before each further one.
    public var backoff: Duration
    public var logger: Logger

    public init(attempts: Int = 4, backoff: Duration = .milliseconds(250), logger: Logger) {
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.logger = logger
    }

    /// Runs `body`, retrying it while it throws a locked ``DatabaseError``. `what` names
    /// the write in the log ("record queue request 3 as done").
    public func run<T: Sendable>(
        _ what: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        var wait = backoff
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as DatabaseError where Self.isTransient(error) && attempt < attempts {
                logger.warning("\(what): database locked (try \(attempt) of \(attempts)); retrying in \(wait)")
                // Also waited out when the service is stopping: its last writes matter most.
                await Pause.uncancellable(wait)
                wait *= 2
                attempt += 1
            }
        }
    }

    /// Locked or busy: another connection holds the lock; trying later can succeed.
    public static func isTransient(_ error: DatabaseError) -> Bool {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), extended codes included.
        error.code == .locked || [5, 6].contains(error.sqliteCode & 0xff)
    }
}

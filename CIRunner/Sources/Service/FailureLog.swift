/// Failures that repeat every tick (a store that stays locked, a matrix that stays
/// unreadable) are logged when they start, when their message changes, and when they clear,
/// not twice a second.
struct FailureLog: Sendable {
    private var current: [String: String] = [:]

    /// Logs `message` for `key` unless it is the one already logged.
    mutating func failed(_ key: String, _ message: String, logger: Logger, level: Logger.Level = .error) {
        guard current[key] != message else { return }
        current[key] = message
        logger.log(level, message)
    }

    /// `key` works again: says so if it had failed.
    mutating func succeeded(_ key: String, logger: Logger) {
        guard current.removeValue(forKey: key) != nil else { return }
        logger.info("\(key): working again")
    }
}

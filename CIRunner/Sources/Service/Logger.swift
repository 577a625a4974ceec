import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The service's logger: one line per event, with dot-separated metadata that callers add
/// as they go down (`run.id`, then `cell.id`), passed as a value (STYLE.md §7).
///
/// Only the executable decides where lines go (the ``sink``); libraries take a `Logger`.
///
///     2026-11-25T02:30:01Z info run=20261125-0230-ab12 cell=1a2b3c4d5e build started
public struct Logger: Sendable {
    /// How important a line is. Lines below ``Logger/minimumLevel`` are dropped.
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case debug, info, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
        public var description: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            }
        }
    }

    /// Metadata as written at a call site; rendered in key order after the logger's own.
    public typealias Metadata = [String: String]

    /// One event, handed to the sink.
    public struct Record: Sendable {
        public var date: Date
        public var level: Level
        public var message: String
        /// The logger's metadata in the order it was added, then the call's, sorted by key.
        public var metadata: [(key: String, value: String)]

        /// The line as the service writes it (without the newline).
        public var line: String {
            var parts = [Logger.timestamp(date), level.description]
            parts += metadata.map { "\(Logger.shortKey($0.key))=\(Logger.quoted($0.value))" }
            parts.append(message)
            return parts.joined(separator: " ")
        }

        /// The value of a metadata key (last one wins).
        public subscript(key: String) -> String? { metadata.last { $0.key == key }?.value }
    }

    public var minimumLevel: Level
    /// Metadata this logger adds to every line, in the order it was added.
    public private(set) var metadata: [(key: String, value: String)]
    private let sink: @Sendable (Record) -> Void
    private let clock: @Sendable () -> Date

    /// A logger that hands every record at or above `minimumLevel` to `sink`.
    /// `clock` is for tests that want fixed timestamps.
    public init(
        minimumLevel: Level = .info, metadata: Metadata = [:], clock: @escaping @Sendable () -> Date = { Date() },
        sink: @escaping @Sendable (Record) -> Void
    ) {
        self.minimumLevel = minimumLevel
        self.metadata = metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.clock = clock
        self.sink = sink
    }

    /// Lines to standard error, each with one `write(2)` so concurrent lines do not interleave.
    public static func standardError(minimumLevel: Level = .info) -> Logger {
        Logger(minimumLevel: minimumLevel) { record in
            let bytes = Array((record.line + "\n").utf8)
            bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
        }
    }

    /// A logger that drops everything (for callers that do not care).
    public static let discarding = Logger(minimumLevel: .error) { _ in }

    /// A copy that adds `metadata` to every line (`logger.with(["run.id": id])`).
    public func with(_ metadata: Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            copy.metadata.removeAll { $0.key == key }
            copy.metadata.append((key, value))
        }
        return copy
    }

    /// A copy with one more metadata key.
    public func with(_ key: String, _ value: String) -> Logger { with([key: value]) }

    public func log(_ level: Level, _ message: @autoclosure () -> String, _ metadata: Metadata = [:]) {
        guard level >= minimumLevel else { return }
        var all = self.metadata
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            all.removeAll { $0.key == key }
            all.append((key, value))
        }
        sink(Record(date: clock(), level: level, message: message(), metadata: all))
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: Metadata = [:]) { log(.debug, message(), metadata) }
    public func info(_ message: @autoclosure () -> String, _ metadata: Metadata = [:]) { log(.info, message(), metadata) }
    public func warning(_ message: @autoclosure () -> String, _ metadata: Metadata = [:]) { log(.warning, message(), metadata) }
    public func error(_ message: @autoclosure () -> String, _ metadata: Metadata = [:]) { log(.error, message(), metadata) }

    // MARK: Rendering

    /// `run.id` prints as `run=`: ids are what people grep for, so they get the short name.
    static func shortKey(_ key: String) -> String {
        key.hasSuffix(".id") && key.count > 3 ? String(key.dropLast(3)) : key
    }

    /// Values with spaces or quotes are quoted so a line still splits into fields.
    static func quoted(_ value: String) -> String {
        if !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    /// UTC, second precision: `2026-11-25T02:30:01Z`.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}

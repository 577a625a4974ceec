import Foundation

/// How store commands write times, durations and sizes.
enum StoreText {
    /// `2025-01-31 02:00:05 UTC`.
    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date) + " UTC"
    }

    /// `45 s`, `12m 03s`, `2h 05m`.
    static func duration(_ seconds: Double) -> String {
        // From stored times, which may be damaged: never trap on them.
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total) s" }
        if total < 3600 { return String(format: "%dm %02ds", total / 60, total % 60) }
        return String(format: "%dh %02dm", total / 3600, (total % 3600) / 60)
    }

    /// `812 B`, `4.2 KiB`, `1.3 MiB`.
    static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1 << 20 { return String(format: "%.1f KiB", Double(count) / 1024) }
        return String(format: "%.1f MiB", Double(count) / Double(1 << 20))
    }

    /// The first line of `text`, cut to `width` characters.
    static func oneLine(_ text: String, width: Int) -> String {
        let line = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        return line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }
}

extension StoreText {
    /// Pretty JSON with sorted keys and ISO 8601 dates, for `--json` output of store commands.
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

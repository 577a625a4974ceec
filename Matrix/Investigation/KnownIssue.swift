import Foundation

/// A failure the team already knows about (`knownIssues` in the matrix): a failure whose
/// signature matches is reported as "known: LINK" instead of as a new regression, and is
/// not bisected or triaged.
///
///     "knownIssues": [
///       {"signature": "FAIL fail:halt .*VMLAUNCH", "component": "xmhf64", "expires": "2027-03-01",
///        "link": "https://bugs.example.org/123"}
///     ]
public struct KnownIssue: Sendable, Codable, Equatable {
    /// ICU regular expression searched in the failure signature's text
    /// (`FAIL fail:halt "CPU(#): HALT!"`, see `FailureSignature.description`).
    public var signature: String
    /// Only failures of cells that contain this component (nil: any cell).
    public var component: String?
    /// Last day (`YYYY-MM-DD`, UTC) the entry applies; after it the entry is ignored with a warning.
    public var expires: String?
    /// Where the issue is tracked: shown as "known: LINK".
    public var link: String
    /// Where it was written, for warnings: `matrix.json: knownIssues[2]`.
    public var origin: String

    public init(signature: String, component: String? = nil, expires: String? = nil, link: String, origin: String = "") {
        self.signature = signature
        self.component = component
        self.expires = expires
        self.link = link
        self.origin = origin
    }

    /// Whether the entry's last day is before `date`'s day (UTC). An entry without `expires`
    /// never expires.
    public func isExpired(on date: Date) -> Bool {
        guard let expires, let last = Self.day(expires) else { return false }
        return Self.dayText(date) > Self.dayText(last)
    }

    /// Whether a failure with signature text `signature`, in a cell made of `components`,
    /// is this issue. A pattern that does not compile matches nothing (the loader refuses it).
    public func matches(signature text: String, components: some Sequence<String>) -> Bool {
        if let component, !components.contains(component) { return false }
        guard let expression = try? NSRegularExpression(pattern: signature) else { return false }
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// The entries in force on `date`, and one warning per expired entry naming where it is.
    public static func active(_ issues: [KnownIssue], on date: Date) -> (issues: [KnownIssue], warnings: [String]) {
        var active: [KnownIssue] = [], warnings: [String] = []
        for issue in issues {
            if issue.isExpired(on: date) {
                warnings.append("\(issue.origin): known issue \(issue.link) expired on \(issue.expires ?? "?") and is ignored (extend \"expires\" or remove the entry)")
            } else {
                active.append(issue)
            }
        }
        return (active, warnings)
    }

    /// The first entry of `issues` matching, or nil.
    public static func match(_ issues: [KnownIssue], signature text: String, components: some Sequence<String>) -> KnownIssue? {
        let components = Array(components)
        return issues.first { $0.matches(signature: text, components: components) }
    }

    /// `2026-12-01` → that day at 00:00 UTC; nil unless a real calendar day in that form.
    public static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var components = DateComponents(year: year, month: month, day: day)
        components.timeZone = TimeZone(identifier: "UTC")
        let calendar = Self.calendar
        guard let date = calendar.date(from: components) else { return nil }
        // Rejects 2026-02-30, which the calendar would roll over into March.
        let back = calendar.dateComponents([.year, .month, .day], from: date)
        return back.year == year && back.month == month && back.day == day ? date : nil
    }

    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    /// `YYYY-MM-DD` of `date` in UTC (compares as text).
    static func dayText(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

import Matrix

/// How one boot was judged, and the evidence for it.
public struct Verdict: Sendable, Hashable, Codable {
    public var outcome: Outcome
    /// The deciding rule: `pass:<marker>`, `fail:<marker>`, `unsupported:<marker>`,
    /// `grub-error`, `deadline`, `guest-stopped`, `emulator-exited`, `emulator-failed-to-start`,
    /// `cancelled`.
    public var rule: String
    /// One sentence for a report: what happened and, for INFRA, what to do.
    public var reason: String
    /// 1-based serial line that decided, when a line did.
    public var lineNumber: Int?
    public var line: String?
    /// Seconds from boot start to the decision.
    public var seconds: Double
    /// The last serial lines (for TIMEOUT, a stopped guest, INFRA), oldest first.
    public var lastLines: [String]

    public init(
        outcome: Outcome, rule: String, reason: String, lineNumber: Int? = nil, line: String? = nil, seconds: Double,
        lastLines: [String] = []
    ) {
        self.outcome = outcome
        self.rule = rule
        self.reason = reason
        self.lineNumber = lineNumber
        self.line = line
        self.seconds = seconds
        self.lastLines = lastLines
    }
}

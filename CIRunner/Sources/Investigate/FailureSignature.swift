import Foundation
import Matrix

/// What a failure looks like, stable across boots of the same bug: the outcome, the
/// deciding rule and the deciding line with its varying numbers masked. Two boots that fail
/// "the same way" have equal signatures; bisection (#12), -O triage (#13) and the known-issue
/// list compare them.
///
/// A TIMEOUT has no deciding line, so its line is the last milestone the guest printed (a
/// line matching a pass marker: how far it got), or the last non-empty serial line when it
/// printed no milestone.
public struct FailureSignature: Codable, Hashable, Sendable, CustomStringConvertible {
    /// FAIL, TIMEOUT, BUILD-FAIL or INFRA.
    public var outcome: Outcome
    /// The deciding rule: `fail:halt`, `deadline`, `build`, …
    public var rule: String
    /// The deciding line, normalised by ``normalise(_:)``.
    public var line: String

    public init(outcome: Outcome, rule: String, line: String) {
        self.outcome = outcome
        self.rule = rule
        self.line = line
    }

    /// `FAIL fail:halt "CPU(#): HALT!"`.
    public var description: String { "\(outcome.rawValue) \(rule) \"\(line)\"" }

    /// The signature of a result, or nil when it did not fail (PASS, FLAKY, SKIP).
    ///
    /// - Parameters:
    ///   - serialLines: the boot's serial lines (only read for a TIMEOUT).
    ///   - milestones: the markers whose lines count as milestones (the pass rules').
    public init?(result: CellResult, serialLines: [String] = [], milestones: [Marker] = []) {
        switch result.outcome {
        case .pass, .flaky, .skip: return nil
        case .timeout:
            self.init(outcome: .timeout, rule: "timeout", line: Self.normalise(Self.lastProgress(serialLines, milestones: milestones) ?? ""))
        case .fail, .buildFail, .infra:
            self.init(outcome: result.outcome, rule: result.rule, line: Self.normalise(result.reason))
        }
    }

    /// The signature of a result whose serial log is the file at `serialLog` (a TIMEOUT's
    /// milestone is read from it; its tail is enough, the last 1 MiB).
    public static func of(_ result: CellResult, serialLog: String?, milestones: [Marker]) -> FailureSignature? {
        var lines: [String] = []
        if result.outcome == .timeout, let serialLog, let handle = FileHandle(forReadingAtPath: serialLog) {
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            let start = size > 1 << 20 ? size - (1 << 20) : 0
            try? handle.seek(toOffset: start)
            let data = (try? handle.readToEnd()) ?? Data()
            lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        }
        return FailureSignature(result: result, serialLines: lines, milestones: milestones)
    }

    /// The last line matching a milestone marker, else the last non-empty line.
    static func lastProgress(_ lines: [String], milestones: [Marker]) -> String? {
        let expressions = milestones.compactMap { try? NSRegularExpression(pattern: $0.regex) }
        var lastNonEmpty: String?
        for line in lines.reversed() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { continue }
            if lastNonEmpty == nil { lastNonEmpty = text }
            let range = NSRange(text.startIndex..., in: text)
            if expressions.contains(where: { $0.firstMatch(in: text, range: range) != nil }) { return text }
        }
        return lastNonEmpty
    }

    /// Masks what varies between boots of the same failure, keeping the words: every number
    /// (decimal, `0x` hex, bare hex of 6+ digits such as addresses and hashes, timestamps
    /// like `[   12.345]` or `12:34:56`) becomes `#`; runs of blanks become one space; the
    /// result is capped at 300 characters.
    public static func normalise(_ line: String) -> String {
        var text = line.trimmingCharacters(in: .whitespacesAndNewlines)
        for (pattern, replacement) in masks {
            text = pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: replacement)
        }
        return String(text.prefix(300))
    }

    // Order matters: hex before decimal, so `0x1f` is one `#`, not `#x#f`.
    private static let masks: [(NSRegularExpression, String)] = [
        (#"\b0[xX][0-9a-fA-F]+\b"#, "#"),
        (#"\b(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{6,}\b"#, "#"),
        (#"\d+([.:]\d+)*"#, "#"),
        (#"\s+"#, " "),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }
}

import Foundation
import Matrix

extension FindingsAnalyzer {
    /// The findings with those whose failing cells all match a known issue marked `known`
    /// (a fix is never known: nothing fails). `issues` are the entries in force (see
    /// ``KnownIssue/active(_:on:)``).
    public static func markKnown(_ findings: [Finding], cells: [CellResult], runID: String, issues: [KnownIssue]) -> [Finding] {
        guard !issues.isEmpty else { return findings }
        let byID = Dictionary(cells.map { ($0.cellID, $0) }, uniquingKeysWith: { first, _ in first })
        return findings.map { finding in
            guard finding.kind != .fix else { return finding }
            let failing = finding.verdicts.filter { $0.runID == runID && $0.outcome.isFailure }.compactMap { byID[$0.cellID] }
            let matches = failing.map { cell in KnownIssue.match(issues, signature: signatureText(cell), components: cell.commits.keys) }
            guard !matches.isEmpty, matches.allSatisfy({ $0 != nil }), let first = matches.first ?? nil else { return finding }
            var marked = finding
            marked.known = Finding.Known(link: first.link, signature: first.signature)
            return marked
        }
    }

    /// The text known-issue patterns are matched against: the cell's stored signature, or
    /// for a result recorded before signatures existed, one made from its verdict.
    public static func signatureText(_ cell: CellResult) -> String {
        (cell.signature ?? FailureSignature(result: cell))?.description ?? "\(cell.outcome.rawValue) \(cell.rule) \"\(cell.reason)\""
    }
}

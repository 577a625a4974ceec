import Matrix

/// Regressions and fixes against the previous run of the same matrix, cell by stable id.
extension FindingsAnalyzer {
    func historyFindings() -> [Finding] {
        guard let previousRunID else { return [] }
        let before = Dictionary(previousCells.map { ($0.cellID, $0) }, uniquingKeysWith: { $1 })
        var regressions: [Finding] = []
        var fixes: [Finding] = []
        for cell in cells {
            guard let old = before[cell.cellID] else { continue }
            let isRegression = old.outcome == .pass && cell.outcome.isFailure
            let isFix = old.outcome.isFailure && cell.outcome == .pass
            guard isRegression || isFix else { continue }
            let changes = Self.commitChanges(before: old.commits, after: cell.commits)
            let range = changes.map { "\($0.component) \(($0.before ?? "none").prefix(12))..\(($0.after ?? "none").prefix(12))" }
            let commitsText = range.isEmpty ? " (same commits: look at the host or the emulator)" : " (\(range.joined(separator: ", ")))"
            let name = "\(subject(cell)) \(Self.optText(cell))"
            let verdicts = [
                Self.verdict(old, runID: previousRunID, label: "previous run"),
                Self.verdict(cell, runID: runID, label: "this run"),
            ]
            if isRegression {
                let evidence = vmcsEvidence(passing: [(previousRunID, old)], failing: [(runID, cell)])
                regressions.append(
                    Finding(
                        kind: .regression,
                        title: "\(name): passed in \(previousRunID), \(cell.outcome.rawValue) now\(commitsText)",
                        cellIDs: [cell.cellID], verdicts: verdicts, commits: changes, vmcsDiff: evidence,
                        detail: (verdicts.map(Self.line) + Self.vmcsLines(evidence)).joined(separator: "\n")))
            } else {
                fixes.append(
                    Finding(
                        kind: .fix, title: "\(name): \(old.outcome.rawValue) in \(previousRunID), passes now\(commitsText)",
                        cellIDs: [cell.cellID], verdicts: verdicts, commits: changes, vmcsDiff: nil,
                        detail: verdicts.map(Self.line).joined(separator: "\n")))
            }
        }
        return regressions + fixes
    }
}

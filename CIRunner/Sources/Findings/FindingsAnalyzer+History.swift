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
            let configuration = Self.configurationChanges(old, cell)
            let commitsText = Self.changeText(commits: range, configuration: configuration)
            let name = "\(subject(cell)) \(Self.optText(cell))"
            let verdicts = [
                Self.verdict(old, runID: previousRunID, label: "previous run"),
                Self.verdict(cell, runID: runID, label: "this run"),
            ]
            var lines = verdicts.map(Self.line)
            if let configuration, !configuration.isEmpty {
                lines.append("configuration changed since \(previousRunID): \(configuration.joined(separator: ", "))")
            }
            if isRegression {
                let evidence = vmcsEvidence(passing: [(previousRunID, old)], failing: [(runID, cell)])
                regressions.append(
                    Finding(
                        kind: .regression,
                        title: "\(name): passed in \(previousRunID), \(cell.outcome.rawValue) now\(commitsText)",
                        cellIDs: [cell.cellID], verdicts: verdicts, commits: changes, vmcsDiff: evidence,
                        configurationChanges: configuration, detail: (lines + Self.vmcsLines(evidence)).joined(separator: "\n")))
            } else {
                fixes.append(
                    Finding(
                        kind: .fix, title: "\(name): \(old.outcome.rawValue) in \(previousRunID), passes now\(commitsText)",
                        cellIDs: [cell.cellID], verdicts: verdicts, commits: changes, vmcsDiff: nil,
                        configurationChanges: configuration, detail: lines.joined(separator: "\n")))
            }
        }
        return regressions + fixes
    }

    /// What of the cell's configuration changed, nil when either run lacks a fingerprint.
    static func configurationChanges(_ old: CellResult, _ new: CellResult) -> [String]? {
        guard let before = old.configuration, let after = new.configuration, !before.isEmpty, !after.isEmpty else { return nil }
        return CellConfiguration.changes(from: before, to: after)
    }

    /// The title's parenthesis: commit ranges and configuration changes, or where else to look.
    static func changeText(commits: [String], configuration: [String]?) -> String {
        let changed = configuration.map { $0.isEmpty ? [] : ["configuration changed: \($0.joined(separator: ", "))"] } ?? []
        if commits.isEmpty && changed.isEmpty {
            let unknown = configuration == nil ? " or the cell's configuration" : ""
            return " (same commits: look at the host or the emulator\(unknown))"
        }
        return " (\((commits + (commits.isEmpty ? changed.map { "\($0); same commits" } : changed)).joined(separator: "; ")))"
    }
}

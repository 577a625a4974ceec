import Matrix

/// The -O differential: cells equal in everything but `opt` where one level passes and
/// another fails. The seed bug's shape: "passes at O0, fails at O3".
extension FindingsAnalyzer {
    func optOnlyFindings() -> [Finding] {
        var groups: [[String: String]: [CellResult]] = [:]
        var order: [[String: String]] = []
        for cell in cells {
            var key = cell.values
            key["opt"] = nil
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(cell)
        }
        var findings: [Finding] = []
        for key in order {
            let group = groups[key]!.sorted { (Self.opt($0) ?? .Og) < (Self.opt($1) ?? .Og) }
            let passing = group.filter { $0.outcome == .pass }
            let failing = group.filter { $0.outcome.isFailure }
            guard !passing.isEmpty, !failing.isEmpty else { continue }
            let failText = failing.map { $0.outcome == .fail ? Self.optText($0) : "\(Self.optText($0)) (\($0.outcome.rawValue))" }
            let title = "\(subject(failing[0])): passes at \(passing.map(Self.optText).joined(separator: ", ")), fails at \(failText.joined(separator: ", "))"
            let verdicts = (passing + failing).map { Self.verdict($0, runID: runID, label: Self.optText($0)) }
            let evidence = vmcsEvidence(failing: failing, fallback: passing)
            // A same-level cell of another revision that the diff compares against is cited too.
            let compared = [evidence.first, evidence.second].compactMap { $0?.passingCellID }.filter { id in !group.contains { $0.cellID == id } }
            findings.append(
                Finding(
                    kind: .optOnly, title: title, cellIDs: group.map(\.cellID) + compared, verdicts: verdicts,
                    commits: Self.commitChanges(before: passing[0].commits, after: failing[0].commits),
                    vmcsDiff: evidence.first, secondVMCSDiff: evidence.second,
                    detail: (verdicts.map(Self.line) + vmcsLines(evidence)).joined(separator: "\n")))
        }
        return findings
    }
}

import Matrix

/// The user-axis differential: cells equal except in one user axis (say `rev`: `good`,
/// `main`) where the axis's first value passes and another value fails. Opt levels are
/// folded into one finding per axis value: "rev=good passes, rev=main fails at O2, O3".
extension FindingsAnalyzer {
    /// Axes that are not built in, with their values in first-appearance order (the plan
    /// lists cells in axis order, so the first value is the matrix file's first).
    var userAxes: [(name: String, values: [String])] {
        let builtIn = Set(MatrixFile.builtInAxes)
        var order: [String] = []
        var values: [String: [String]] = [:]
        for cell in cells {
            for key in cell.values.keys.sorted() where !builtIn.contains(key) {
                if values[key] == nil { order.append(key) }
                if !(values[key] ?? []).contains(cell.values[key]!) { values[key, default: []].append(cell.values[key]!) }
            }
        }
        return order.map { ($0, values[$0]!) }.filter { $0.values.count > 1 }
    }

    func axisFindings() -> [Finding] {
        var findings: [Finding] = []
        for axis in userAxes {
            let baseline = axis.values[0]
            // Group by everything except the axis and opt; inside, index by (opt, axis value).
            var groups: [[String: String]: [String: [String: CellResult]]] = [:]
            var order: [[String: String]] = []
            for cell in cells {
                guard let value = cell.values[axis.name] else { continue }
                var key = cell.values
                key[axis.name] = nil
                key["opt"] = nil
                if groups[key] == nil { order.append(key) }
                groups[key, default: [:]][cell.values["opt"] ?? "", default: [:]][value] = cell
            }
            for key in order {
                let byOpt = groups[key]!
                let opts = byOpt.keys.sorted { (OptLevel(rawValue: $0) ?? .Og) < (OptLevel(rawValue: $1) ?? .Og) }
                for value in axis.values.dropFirst() {
                    let pairs = opts.compactMap { opt -> (good: CellResult, bad: CellResult)? in
                        guard let good = byOpt[opt]?[baseline], let bad = byOpt[opt]?[value],
                            good.outcome == .pass, bad.outcome.isFailure
                        else { return nil }
                        return (good, bad)
                    }
                    guard let first = pairs.first else { continue }
                    let where_ = pairs.map { Self.optText($0.bad) }.joined(separator: ", ")
                    var title = "\(subject(first.bad, omitting: [axis.name])): \(axis.name)=\(baseline) passes, \(axis.name)=\(value) fails at \(where_)"
                    var verdicts: [Finding.Verdict] = []
                    for pair in pairs {
                        verdicts.append(Self.verdict(pair.good, runID: runID, label: "\(axis.name)=\(baseline) \(Self.optText(pair.good))"))
                        verdicts.append(Self.verdict(pair.bad, runID: runID, label: "\(axis.name)=\(value) \(Self.optText(pair.bad))"))
                    }
                    var cellIDs = pairs.flatMap { [$0.good.cellID, $0.bad.cellID] }
                    if let again = passesAgain(after: value, axis: axis, at: pairs.map(\.bad), in: byOpt) {
                        title += ", \(axis.name)=\(again.value) passes again" + (again.cells.count < pairs.count ? " at \(again.cells.map(Self.optText).joined(separator: ", "))" : "")
                        verdicts += again.cells.map { Self.verdict($0, runID: runID, label: "\(axis.name)=\(again.value) \(Self.optText($0))") }
                        cellIDs += again.cells.map(\.cellID)
                    }
                    let evidence = vmcsEvidence(failing: pairs.map(\.bad), fallback: pairs.map(\.good))
                    findings.append(
                        Finding(
                            kind: .regressionAcrossAxis, title: title, cellIDs: cellIDs, verdicts: verdicts,
                            commits: Self.commitChanges(before: first.good.commits, after: first.bad.commits), vmcsDiff: evidence.first,
                            secondVMCSDiff: evidence.second, detail: (verdicts.map(Self.line) + vmcsLines(evidence)).joined(separator: "\n")))
                }
            }
        }
        return findings
    }

    /// The first value after `value` (in the axis's order) that passes at some of the levels
    /// where `value` fails, with its passing cells: "rev=5af7fe209 passes again".
    func passesAgain(
        after value: String, axis: (name: String, values: [String]), at failing: [CellResult], in byOpt: [String: [String: CellResult]]
    ) -> (value: String, cells: [CellResult])? {
        guard let index = axis.values.firstIndex(of: value) else { return nil }
        for later in axis.values[(index + 1)...] {
            let passing = failing.compactMap { byOpt[$0.values["opt"] ?? ""]?[later] }.filter { $0.outcome == .pass }
            if !passing.isEmpty { return (later, passing) }
        }
        return nil
    }
}

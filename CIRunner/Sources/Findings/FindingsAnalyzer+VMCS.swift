import Matrix

/// Which passing dump a failing cell's dump is diffed against. An -O0 build and an -O3
/// build are different binaries: their bitmaps, MSR areas and page tables sit at other
/// addresses, and those differences bury the culprit. A cell at the same -O level that
/// passes with another revision (the cell an axis finding names) has the same layout, so it
/// goes first and the -O0 diff second.
extension FindingsAnalyzer {
    /// The diffs of a finding: against a same-level cell of another user-axis value when one
    /// passes and has dumps (then `second` is against the failing revision's own passing
    /// levels), otherwise against `fallback` alone.
    func vmcsEvidence(failing: [CellResult], fallback: [CellResult]) -> (first: Finding.VMCSEvidence?, second: Finding.VMCSEvidence?) {
        for bad in failing {
            let sameLevel = sameLevelSiblings(of: bad)
            guard let first = vmcsEvidence(passing: sameLevel.map { (runID, $0) }, failing: [(runID, bad)]) else { continue }
            let otherLevels = optSiblings(of: bad).filter { $0.outcome == .pass }
            return (first, vmcsEvidence(passing: otherLevels.map { (runID, $0) }, failing: [(runID, bad)]))
        }
        return (vmcsEvidence(passing: fallback.map { (runID, $0) }, failing: failing.map { (runID, $0) }), nil)
    }

    /// Passing cells of this run equal to `cell` except in one user axis (same opt level),
    /// the axis's values in the matrix's order.
    func sameLevelSiblings(of cell: CellResult) -> [CellResult] {
        let axes = userAxes
        var result: [CellResult] = []
        for axis in axes {
            for value in axis.values where value != cell.values[axis.name] {
                var wanted = cell.values
                wanted[axis.name] = value
                if let sibling = cellsByValues[wanted], sibling.outcome == .pass { result.append(sibling) }
            }
        }
        return result
    }

    /// Cells of this run equal to `cell` except in opt, lowest level first.
    func optSiblings(of cell: CellResult) -> [CellResult] {
        let key = cell.values.filter { $0.key != "opt" }
        return cells.filter { $0.cellID != cell.cellID && $0.values.filter { $0.key != "opt" } == key }
            .sorted { (Self.opt($0) ?? .Og) < (Self.opt($1) ?? .Og) }
    }

    /// What tells `passing` apart from `failing`, for a summary line: `O0`, `rev=good`.
    static func difference(of passing: CellResult, from failing: CellResult) -> String {
        passing.values.keys.sorted().filter { passing.values[$0] != failing.values[$0] }
            .map { $0 == "opt" ? passing.values[$0]! : "\($0)=\(passing.values[$0]!)" }.joined(separator: " ")
    }

    /// Summary lines of a finding's diffs: the first as `VMCS …`, the second named by what its
    /// passing cell differs in (`VMCS against O0 …`).
    func vmcsLines(_ evidence: (first: Finding.VMCSEvidence?, second: Finding.VMCSEvidence?)) -> [String] {
        var lines = Self.vmcsLines(evidence.first)
        if let second = evidence.second, let passing = cellsByID[second.passingCellID], let failing = cellsByID[second.failingCellID] {
            lines += Self.vmcsLines(second, against: Self.difference(of: passing, from: failing))
        }
        return lines
    }

    var cellsByValues: [[String: String]: CellResult] {
        Dictionary(cells.map { ($0.values, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var cellsByID: [String: CellResult] {
        Dictionary(cells.map { ($0.cellID, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

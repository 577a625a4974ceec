import Foundation
import Matrix

/// Computes a run's findings from its cells, the previous run's cells and the cells' VMCS
/// dumps. Pure apart from `dumps`, which the store points at each cell's `vmcs.json`.
public struct FindingsAnalyzer: Sendable {
    public var runID: String
    public var cells: [CellResult]
    public var previousRunID: String?
    public var previousCells: [CellResult]
    /// The VMCS dumps of a cell of a run (`runID`, `cellID`), nil when it has none.
    public var dumps: @Sendable (_ runID: String, _ cellID: String) -> VMCSDumpSet?

    public init(
        runID: String, cells: [CellResult], previousRunID: String? = nil, previousCells: [CellResult] = [],
        dumps: @escaping @Sendable (_ runID: String, _ cellID: String) -> VMCSDumpSet? = { _, _ in nil }
    ) {
        self.runID = runID
        self.cells = cells
        self.previousRunID = previousRunID
        self.previousCells = previousCells
        self.dumps = dumps
    }

    /// -O-only findings, then axis differentials, then regressions, then fixes.
    public func findings() -> [Finding] {
        optOnlyFindings() + axisFindings() + historyFindings()
    }

    // MARK: - Shared helpers

    /// Keys whose value differs between cells of this run: they go in titles, because they
    /// tell apart cells that chain and bits do not.
    var varyingKeys: Set<String> {
        var seen: [String: Set<String>] = [:]
        for cell in cells { for (key, value) in cell.values { seen[key, default: []].insert(value) } }
        return Set(seen.filter { $0.value.count > 1 }.keys)
    }

    /// `minivisor i386`, plus ` (rev=main)` for varying keys other than chain, bits, opt and `omitting`.
    func subject(_ cell: CellResult, omitting: Set<String> = []) -> String {
        let bits = cell.values["bits"].map { " \($0)" } ?? ""
        let skip = Set(["chain", "bits", "opt"]).union(omitting)
        let qualifiers = varyingKeys.subtracting(skip).sorted().compactMap { key in cell.values[key].map { "\(key)=\($0)" } }
        return "\(cell.chain)\(bits)" + (qualifiers.isEmpty ? "" : " (\(qualifiers.joined(separator: ", ")))")
    }

    static func opt(_ cell: CellResult) -> OptLevel? { cell.values["opt"].flatMap(OptLevel.init(rawValue:)) }

    static func optText(_ cell: CellResult) -> String { cell.values["opt"] ?? "?" }

    static func verdict(_ cell: CellResult, runID: String, label: String) -> Finding.Verdict {
        Finding.Verdict(
            runID: runID, cellID: cell.cellID, label: label, outcome: cell.outcome, rule: cell.rule, reason: cell.reason,
            line: cell.line, commits: cell.commits)
    }

    /// `O3: FAIL (halt, serial line 57): CPU(0x00): VM-ENTRY error …`.
    static func line(_ verdict: Finding.Verdict) -> String {
        let at = verdict.line.map { ", serial line \($0)" } ?? ""
        return "\(verdict.label): \(verdict.outcome.rawValue) (\(verdict.rule)\(at)): \(verdict.reason) [\(verdict.runID)/\(verdict.cellID)]"
    }

    static func commitChanges(before: [String: String], after: [String: String]) -> [Finding.CommitChange] {
        Set(before.keys).union(after.keys).sorted().compactMap { component in
            before[component] == after[component] ? nil
                : Finding.CommitChange(component: component, before: before[component], after: after[component])
        }
    }

    /// The failing cell's first dump against the passing cell's first dump of the same CPU
    /// and VMCS kind (for XMHF-style hypervisors both are "before first VM entry" dumps).
    /// Tries the pairs in order until one has such dumps.
    func vmcsEvidence(passing: [(runID: String, cell: CellResult)], failing: [(runID: String, cell: CellResult)]) -> Finding.VMCSEvidence? {
        for bad in failing {
            guard let badSet = dumps(bad.runID, bad.cell.cellID), let badDump = badSet.dumps.first else { continue }
            for good in passing {
                guard let goodSet = dumps(good.runID, good.cell.cellID),
                    let goodDump = goodSet.dumps(cpu: badDump.cpu, kind: badDump.kind).first
                else { continue }
                let diff = VMCSDiff(before: goodDump, after: badDump)
                let fields = diff.ranked.map { change in
                    Finding.Field(
                        encoding: VMCSField.hex(change.encoding), sdmName: change.sdmName, printedName: change.printedName,
                        group: change.group, passing: change.before?.formatted(digits: change.width.hexDigits),
                        failing: change.after?.formatted(digits: change.width.hexDigits))
                }
                return Finding.VMCSEvidence(
                    passingRunID: good.runID, passingCellID: good.cell.cellID, failingRunID: bad.runID,
                    failingCellID: bad.cell.cellID, fields: fields, diff: diff, text: diff.text)
            }
        }
        return nil
    }

    /// What the finding's summary (report, dashboard, webhook) says about a diff: the
    /// top-ranked fields, one line each (at most 5, but never leaving out a field that went to
    /// 0), then the layout-dependent addresses on one line, then how many more differ.
    ///
    ///     VMCS 0x2026 VMREAD-bitmap address (control_VMREAD_bitmap_address): 0x0000000010b63000 → 0x0000000000000000 (became 0)
    ///     VMCS: 5 addresses differ (layout): Address of I/O bitmap A, …
    static func vmcsLines(_ evidence: Finding.VMCSEvidence?, against: String? = nil) -> [String] {
        guard let evidence else { return [] }
        let prefix = against.map { "VMCS against \($0)" } ?? "VMCS"
        if evidence.diff.isEmpty { return ["\(prefix): the dumps agree outside the mask"] }
        let ranked = evidence.diff.ranked.filter { $0.significance != .layout }
        let shown = Array(ranked.prefix(5)) + ranked.dropFirst(5).filter { $0.note == "became 0" }
        var lines = shown.map { change in
            let name = change.printedName.isEmpty ? change.sdmName : "\(change.sdmName) (\(change.printedName))"
            let values = "\(change.before?.formatted(digits: change.width.hexDigits) ?? "(absent)") → \(change.after?.formatted(digits: change.width.hexDigits) ?? "(absent)")"
            return "\(prefix) \(VMCSField.hex(change.encoding)) \(name): \(values)\(change.note.map { " (\($0))" } ?? "")"
        }
        let layout = evidence.diff.layoutChanges
        if !layout.isEmpty {
            let noun = layout.count == 1 ? "address differs" : "addresses differ"
            lines.append("\(prefix): \(layout.count) \(noun) (layout): \(layout.map(\.sdmName).joined(separator: ", "))")
        }
        if ranked.count > shown.count { lines.append("\(prefix): \(ranked.count - shown.count) more field(s) differ") }
        return lines
    }
}

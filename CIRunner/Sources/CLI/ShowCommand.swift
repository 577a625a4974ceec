import Foundation
import Matrix

/// `nestci show RUN`: findings on top, then the matrix grid (rows: chain × smp × backend ×
/// user axes; columns: bits × opt), then each cell with its id and reason.
enum ShowCommand {
    static let spec = CommandSpec(
        name: "show", summary: "show a run as a grid of outcomes (rows chain × smp × backend, columns bits × opt)",
        discussion: "Outcomes: PASS, FAIL, TMO (timeout), BFAIL (build failed), INFRA (harness trouble), SKIP, FLAKY;\n'-' for a cell not recorded (yet). Findings are listed first; `nestci report RUN` explains them.\nExits 1 when a cell failed (FAIL, TMO, BFAIL), like `nestci run`.",
        arguments: [.init("RUN", help: "a run id from `nestci runs`")],
        options: [CommonOptions.store])

    static let entry = CommandEntry(spec) { arguments, console in
        let reference = try StoreReference.parse(arguments.positionals[0])
        guard reference.cellID == nil, reference.dumpNumber == nil else {
            throw UsageError("show takes a run id; for a cell's files use `nestci fetch \(reference.runID)/\(reference.cellID ?? "")`", command: spec)
        }
        let store = try ArtifactStore.openExisting(root: CommonOptions.storePath(arguments))
        _ = try await store.folder(for: reference)
        let summary = try await store.run(reference.runID)!
        let cells = try await store.cells(runID: reference.runID)
        let findings = try await store.findings(runID: reference.runID)
        let pruning = try await store.pruning(runID: reference.runID)
        console.print(render(summary: summary, cells: cells, findings: findings, pruning: pruning))
        return summary.failedCells > 0 ? .failure : .success
    }

    static func render(summary: RunSummary, cells: [CellResult], findings: [Finding], pruning: RunPruning? = nil) -> String {
        let took = summary.finished.map { ", took \(StoreText.duration($0.timeIntervalSince(summary.started)))" } ?? ""
        var lines = [
            "run \(summary.id)  matrix \(summary.matrix)  \(summary.status.rawValue)  started \(StoreText.date(summary.started))\(took)",
            "trigger: \(summary.trigger); \(summary.recordedCells)/\(summary.plannedCells) cells: \(summary.countsText)",
        ]
        if let pruning {
            lines.append("artifacts pruned on \(StoreText.date(pruning.date)) (retention, \(StoreText.bytes(Int(pruning.bytes))) freed): results and findings remain; serial logs, VMCS dumps and reproduce.sh are gone")
        }
        if !findings.isEmpty {
            lines += ["", "findings:"]
            lines += findings.map { "  [\($0.tag)] \($0.title)" }
        }
        if cells.isEmpty {
            lines += ["", "no cells recorded yet"]
            return lines.joined(separator: "\n")
        }
        lines += ["", grid(cells), "", "cells:"]
        var table = TextTable(["cell", "outcome", "levels", "backend", "smp", "why"])
        for cell in cells {
            let at = cell.line.map { "line \($0): " } ?? ""
            table.add([cell.cellID, cell.outcome.abbreviation, cell.levels, cell.backend, String(cell.smp), StoreText.oneLine(at + cell.reason, width: 70)])
        }
        lines.append(table.rendered)
        if summary.failedCells > 0, pruning == nil {
            lines += ["", "evidence: nestci fetch \(summary.id) --failed; explanation: nestci report \(summary.id)"]
        }
        return lines.joined(separator: "\n")
    }

    /// Rows: chain, smp, backend, then user axes (those that vary); columns: bits × opt.
    static func grid(_ cells: [CellResult]) -> String {
        let builtIn = Set(MatrixFile.builtInAxes)
        var userValues: [String: Set<String>] = [:]
        for cell in cells { for (key, value) in cell.values where !builtIn.contains(key) { userValues[key, default: []].insert(value) } }
        let userAxes = userValues.filter { $0.value.count > 1 }.keys.sorted()
        func rowKey(_ cell: CellResult) -> [String] {
            [cell.chain, String(cell.smp), cell.backend] + userAxes.map { cell.values[$0] ?? "-" }
        }
        func columnKey(_ cell: CellResult) -> ColumnKey {
            ColumnKey(bits: cell.values["bits"] ?? "-", opt: cell.values["opt"] ?? "-")
        }
        var rows: [[String]] = []
        var outcomes: [[String]: [ColumnKey: [String]]] = [:]
        var columns = Set<ColumnKey>()
        for cell in cells {
            let row = rowKey(cell)
            if outcomes[row] == nil { rows.append(row) }
            outcomes[row, default: [:]][columnKey(cell), default: []].append(cell.outcome.abbreviation)
            columns.insert(columnKey(cell))
        }
        let sortedColumns = columns.sorted()
        var table = TextTable(["chain", "smp", "backend"] + userAxes + sortedColumns.map { "\($0.bits) \($0.opt)" })
        // chain, smp and backend as text; user axes in the matrix's order of their values.
        let valueOrder = AxisValueOrder(cells)
        func precedes(_ a: [String], _ b: [String]) -> Bool {
            if a.prefix(3) != b.prefix(3) { return a.prefix(3).lexicographicallyPrecedes(b.prefix(3)) }
            let keyed = { (row: [String]) in Dictionary(uniqueKeysWithValues: zip(userAxes, row.dropFirst(3))) }
            return valueOrder.precedes(keyed(a), keyed(b), keys: userAxes)
        }
        for row in rows.sorted(by: precedes) {
            table.add(row + sortedColumns.map { outcomes[row]?[$0]?.joined(separator: "/") ?? "-" })
        }
        return table.rendered
    }

    struct ColumnKey: Hashable, Comparable {
        var bits: String
        var opt: String

        static func < (lhs: ColumnKey, rhs: ColumnKey) -> Bool {
            if lhs.bits != rhs.bits {
                return (Bits(rawValue: lhs.bits).map { $0 == .i386 ? 0 : 1 } ?? 2, lhs.bits) < (Bits(rawValue: rhs.bits).map { $0 == .i386 ? 0 : 1 } ?? 2, rhs.bits)
            }
            let left = OptLevel(rawValue: lhs.opt).flatMap { OptLevel.allCases.firstIndex(of: $0) } ?? 99
            let right = OptLevel(rawValue: rhs.opt).flatMap { OptLevel.allCases.firstIndex(of: $0) } ?? 99
            return (left, lhs.opt) < (right, rhs.opt)
        }
    }
}

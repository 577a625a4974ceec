import Matrix

/// The run page's matrix as a grid: a row per chain × smp × backend (× user axes), a column
/// per bits × opt, so an -O-only failure shows as one red column in a green row.
struct RunGrid {
    struct Column: Hashable {
        var bits: String
        var opt: String
    }

    struct Row: Hashable {
        var chain: String
        var smp: Int
        var backend: String
        /// User axes (and include-added variables); rows sort by them in the matrix's value order.
        var extra: [String: String]
        /// `xmhf64 → lhv`: the chain's components, without the per-cell levels.
        var components: String
    }

    var columns: [Column]
    var rows: [Row]
    private var cells: [Row: [Column: CellResult]]

    /// Axes that are not rows or columns.
    static let placedAxes: Set<String> = ["chain", "opt", "bits", "smp", "backend"]

    init(_ results: [CellResult]) {
        var columns = Set<Column>(), rows: [Row] = [], cells: [Row: [Column: CellResult]] = [:]
        for result in results {
            let column = Column(bits: result.values["bits"] ?? "", opt: result.values["opt"] ?? "")
            let row = Self.row(of: result)
            columns.insert(column)
            if cells[row] == nil { rows.append(row) }
            cells[row, default: [:]][column] = result
        }
        let bitsOrder = Bits.allCases.map(\.rawValue), optOrder = OptLevel.allCases.map(\.rawValue)
        func rank(_ list: [String], _ value: String) -> Int { list.firstIndex(of: value) ?? list.count }
        self.columns = columns.sorted {
            ($0.bits == $1.bits)
                ? (rank(optOrder, $0.opt), $0.opt) < (rank(optOrder, $1.opt), $1.opt)
                : (rank(bitsOrder, $0.bits), $0.bits) < (rank(bitsOrder, $1.bits), $1.bits)
        }
        let backendOrder = Backend.allCases.map(\.rawValue)
        // User axes in the matrix's order of their values (results come in plan order).
        let valueOrder = AxisValueOrder(results)
        let extraKeys = Set(rows.flatMap(\.extra.keys)).sorted()
        self.rows = rows.sorted {
            if $0.chain != $1.chain { return $0.chain < $1.chain }
            if $0.smp != $1.smp { return $0.smp < $1.smp }
            if $0.backend != $1.backend { return rank(backendOrder, $0.backend) < rank(backendOrder, $1.backend) }
            return valueOrder.precedes($0.extra, $1.extra, keys: extraKeys)
        }
        self.cells = cells
    }

    func cell(_ row: Row, _ column: Column) -> CellResult? { cells[row]?[column] }

    /// Bits values in column order, with how many columns each spans.
    var bitsGroups: [(bits: String, span: Int)] {
        var groups: [(bits: String, span: Int)] = []
        for column in columns {
            if groups.last?.bits == column.bits { groups[groups.count - 1].span += 1 } else { groups.append((column.bits, 1)) }
        }
        return groups
    }

    static func row(of result: CellResult) -> Row {
        let extra = result.values.filter { !placedAxes.contains($0.key) }
        return Row(chain: result.chain, smp: result.smp, backend: result.backend, extra: extra, components: components(result.levels))
    }

    /// `xmhf64 O3/i386 → lhv O3/i386` → `xmhf64 → lhv`.
    static func components(_ levels: String) -> String {
        levels.components(separatedBy: " → ").map { $0.split(separator: " ").first.map(String.init) ?? $0 }.joined(separator: " → ")
    }
}

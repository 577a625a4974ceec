import Matrix

/// The order in which the matrix file lists each user axis's values (`rev: good, main,
/// 5af7fe209`), recovered from cells in plan order: the plan sorts cells by axis value
/// position, so a value's first appearance is its place in the file. Tables (`show`, the
/// dashboard grid) sort rows by it instead of alphabetically, which put `main` before
/// `5af7fe209` before `good`.
struct AxisValueOrder {
    private var ranks: [String: [String: Int]] = [:]

    /// `cells` in plan order (results.json, or the store's `cells(runID:)`).
    init(_ cells: [CellResult]) {
        for cell in cells {
            for (key, value) in cell.values where ranks[key]?[value] == nil {
                ranks[key, default: [:]][value] = ranks[key]?.count ?? 0
            }
        }
    }

    /// Position of `value` among `key`'s values; unknown values sort last.
    func rank(_ key: String, _ value: String) -> Int { ranks[key]?[value] ?? Int.max }

    /// True when `lhs` comes before `rhs`, comparing the values of `keys` in turn by their
    /// position in the matrix (then by text, for values the cells never showed).
    func precedes(_ lhs: [String: String], _ rhs: [String: String], keys: [String]) -> Bool {
        for key in keys {
            let (left, right) = (lhs[key] ?? "", rhs[key] ?? "")
            guard left != right else { continue }
            let (a, b) = (rank(key, left), rank(key, right))
            return a != b ? a < b : left < right
        }
        return false
    }

    /// A cell's user-axis (and include-added) values, by key: `rev=main`, for names that
    /// must tell cells apart (JUnit test cases).
    static func userValues(_ values: [String: String]) -> [String] {
        let builtIn = Set(MatrixFile.builtInAxes)
        return values.keys.filter { !builtIn.contains($0) }.sorted().map { "\($0)=\(values[$0]!)" }
    }
}

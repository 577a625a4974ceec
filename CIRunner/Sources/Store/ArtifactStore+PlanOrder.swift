import Foundation

/// Cells are recorded as they finish, so the database's order is completion order; the
/// plan's order (axis values as the matrix lists them) is in run.json, written by `beginRun`.
extension ArtifactStore {
    /// Cell id → position in the plan, from run.json; empty when run.json is missing or has
    /// no cell list (then the recorded order stands).
    func planOrder(runID: String) -> [String: Int] {
        let file = "\(layout.run(runID))/\(RunLayout.runFile)"
        // A missing or unreadable run.json only loses the ordering, never the cells.
        guard let data = FileManager.default.contents(atPath: file),
            let manifest = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let ids = manifest["cells"] as? [String]
        else { return [:] }
        return Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// `cells` sorted by `plan` position; cells the plan lacks keep their order, last.
    static func inPlanOrder(_ cells: [CellResult], plan: [String: Int]) -> [CellResult] {
        guard !plan.isEmpty else { return cells }
        return cells.enumerated().sorted { a, b in
            (plan[a.element.cellID] ?? Int.max, a.offset) < (plan[b.element.cellID] ?? Int.max, b.offset)
        }.map(\.element)
    }
}

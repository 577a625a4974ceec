import Foundation

extension ArtifactStore {
    /// A finished run's `findings.json` as written (with its known-issue warnings and commit
    /// URL templates); nil while it has none or when it is damaged (``findings(runID:)``
    /// reports the damage and recomputes the findings).
    public func storedFindingsReport(runID: String) -> FindingsReport? {
        let file = "\(layout.run(runID))/\(RunLayout.findingsFile)"
        guard StoreFiles.isRegularFile(file) else { return nil }
        // Damage is reported by `findings(runID:)`, which every reader calls too.
        return try? StoreFiles.decode(FindingsReport.self, file: file)
    }
}

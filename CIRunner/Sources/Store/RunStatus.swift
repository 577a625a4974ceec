/// Where a run is in its life, as the store records it.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    /// Started and not finished. If the process writing it has died, readers see
    /// ``interrupted`` instead (the row keeps `running` until ``ArtifactStore/markInterrupted(_:)``).
    case running
    /// ``ArtifactStore/finishRun(id:results:)`` completed: results.json and findings.json exist.
    case finished
    /// The writer died (or was stopped) before finishing; the cells recorded until then are intact.
    case interrupted
}

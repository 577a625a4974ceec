import Foundation

/// That retention removed a run's artifacts, and when: what `fetch`, `show` and the
/// dashboard say instead of pointing at files that are gone.
public struct RunPruning: Sendable, Codable, Equatable {
    public var runID: String
    /// When pruning began; from then on the run's artifact files are going or gone.
    public var date: Date
    /// Bytes of the files removed.
    public var bytes: Int64
    /// False while a prune cut short by a crash waits for the next prune call to finish it.
    public var complete: Bool
}

import Foundation

/// How long a run's evidence (serial logs, VMCS dumps, build logs, reproduce.sh) is kept;
/// ``ArtifactStore/prune(policy:now:)`` applies it. Results, findings and the run's own
/// files are kept for ever: they are small, and history, grids and regressions need them.
public struct RetentionPolicy: Sendable, Equatable {
    /// Days a run whose cells all passed or were skipped keeps its artifacts.
    public var passingDays: Int
    /// Days a run with any other outcome keeps them: failures are what people come back to.
    public var failingDays: Int
    /// Cap on the indexed bytes of the run folders not yet pruned; the oldest runs go
    /// first once it is exceeded. Zero or less: no cap.
    public var maxBytes: Int64

    public init(passingDays: Int = 14, failingDays: Int = 90, maxBytes: Int64 = 20 << 30) {
        self.passingDays = passingDays
        self.failingDays = failingDays
        self.maxBytes = maxBytes
    }

    /// How old a run may get before its artifacts go.
    func maximumAge(allAcceptable: Bool) -> TimeInterval {
        Double(allAcceptable ? passingDays : failingDays) * 86_400
    }
}

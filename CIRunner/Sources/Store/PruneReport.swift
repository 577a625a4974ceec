/// What one ``ArtifactStore/prune(policy:now:)`` call did.
public struct PruneReport: Sendable, Equatable {
    /// Why a run's artifacts went.
    public enum Reason: String, Sendable, Codable {
        /// Older than the policy's days for its outcome.
        case age
        /// The store was over `maxBytes`; it was the oldest run that could go.
        case size
        /// A prune cut short by a crash, finished now.
        case resumed
    }

    /// One pruned run.
    public struct Entry: Sendable, Equatable {
        public var runID: String
        public var matrix: String
        public var reason: Reason
        /// Bytes of the files removed.
        public var bytes: Int64
    }

    /// Oldest first, as they were pruned.
    public var pruned: [Entry]
    /// Indexed bytes of the run folders not pruned, afterwards.
    public var remainingBytes: Int64
    /// True when `remainingBytes` is still over the cap because every run left is one that
    /// must stay (the newest of its matrix, its regression baseline, or running).
    public var overCap: Bool

    public var bytesFreed: Int64 { pruned.reduce(0) { $0 + $1.bytes } }
    /// True when nothing was pruned.
    public var isEmpty: Bool { pruned.isEmpty }
}

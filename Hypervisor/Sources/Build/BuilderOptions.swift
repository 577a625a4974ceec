import Foundation

/// Receives a builder's log lines with dot-separated metadata (`build.key`,
/// `build.cacheKey`, …); the executable decides where they go.
public typealias BuildLogger = @Sendable (_ message: String, _ metadata: [String: String]) -> Void

/// How a ``Builder`` builds.
public struct BuilderOptions: Sendable {
    /// Build every key once in this builder's life even when the cache has it.
    public var rebuild: Bool
    /// Apply no flag workarounds, to show a toolchain's raw failure.
    public var noWorkarounds: Bool
    /// Leave each build's worktree in `<store>/worktrees/` (for debugging the build).
    public var keepWorktrees: Bool
    /// Builds running at once; each gets `{jobs}` from the same core budget.
    public var maxParallel: Int
    /// Cores shared among running builds for `{jobs}`.
    public var cores: Int
    /// Bytes of build log kept (head and tail) when a build is very chatty.
    public var logLimit: Int
    /// The run this builder builds for, kept in each record it makes.
    public var runID: String?
    /// Where the builder reports what it does (`nil`: silent).
    public var logger: BuildLogger?
    /// The store is a build cache shared with processes on other hosts (a cluster's NFS
    /// folder: `nestci build --cache`, `nestci cell run --cache`). Leftovers are then never
    /// removed by pid (a pid means nothing across hosts), and a per-key lock that cannot
    /// be taken (no lock service on NFS) does not stop the build: publication decides.
    public var sharedCache = false
    /// Revisions resolved before this builder (at a distributed run's submission): they
    /// build these commits, not where their branches are now.
    public var pinnedRevisions: [ResolvedRevision] = []

    public init(
        rebuild: Bool = false, noWorkarounds: Bool = false, keepWorktrees: Bool = false,
        maxParallel: Int? = nil, cores: Int? = nil, logLimit: Int = 4 << 20, runID: String? = nil,
        logger: BuildLogger? = nil
    ) {
        let available = ProcessInfo.processInfo.activeProcessorCount
        self.rebuild = rebuild
        self.noWorkarounds = noWorkarounds
        self.keepWorktrees = keepWorktrees
        self.maxParallel = max(1, maxParallel ?? available)
        self.cores = max(1, cores ?? available)
        self.logLimit = logLimit
        self.runID = runID
        self.logger = logger
    }
}

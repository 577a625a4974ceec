import Foundation

/// What one matrix's branch watcher decided after a poll.
public enum WatchAction: Sendable, Equatable {
    case none
    /// Start a run of `matrix`: `reason` for people ("branch xmhf64 moved a1b2c3d → d4e5f6a"),
    /// `commits` (branch → commit) so the run builds exactly what was seen settling.
    case trigger(matrix: String, reason: String, commits: [String: String])
}

/// One branch's commit as seen by one poll.
public struct BranchObservation: Sendable, Equatable, Codable {
    /// The branch as the matrix names it (`xmhf64`); unique within a matrix.
    public var branch: String
    public var commit: String

    public init(branch: String, commit: String) {
        self.branch = branch
        self.commit = commit
    }
}

/// Decides when a moved branch starts a run of one matrix. Pure: fed polls, returns actions.
///
/// - The first sight of a branch records its baseline and triggers nothing (the service
///   just started; the schedule covers what was already there).
/// - A branch whose commit differs from the baseline is pending from the first poll that
///   saw that commit; it settles when a later poll still sees it `debounce` seconds on.
///   A push during the wait restarts the wait: a series of pushes gives one run.
/// - A trigger waits until no branch of the matrix is still pending, and covers every
///   settled branch at once: pushes to two repositories give one run.
/// - A commit is never triggered twice (a branch reset to a commit already run stays quiet).
///
/// `Codable` so the service can keep it across restarts.
public struct BranchWatchState: Sendable, Equatable, Codable {
    public let matrix: String
    /// Seconds a new commit must stay put before it triggers.
    public let debounce: TimeInterval

    struct Branch: Sendable, Equatable, Codable {
        /// The commit of the last trigger, or of first sight.
        var baseline: String
        var pending: String?
        var pendingSince: Date?
        /// Pending and seen unchanged for the debounce period, not yet triggered.
        var settled = false
    }

    private(set) var branches: [String: Branch] = [:]
    /// Commits already triggered, per branch (bounded: only the recent ones matter).
    private(set) var triggered: [String: [String]] = [:]
    static let rememberedTriggers = 100

    public init(matrix: String, debounce: TimeInterval) {
        self.matrix = matrix
        self.debounce = debounce
    }

    /// Feeds one poll's observations (branches missing from it, e.g. because `git ls-remote`
    /// failed or the branch was deleted, keep their state).
    public mutating func observe(_ observations: [BranchObservation], at now: Date) -> WatchAction {
        for observation in observations {
            update(observation, at: now)
        }
        let anyUnsettled = branches.values.contains { $0.pending != nil && !$0.settled }
        let settled = branches.filter { $0.value.settled }.sorted { $0.key < $1.key }
        guard !anyUnsettled, !settled.isEmpty else { return .none }
        var reasons: [String] = [], commits: [String: String] = [:]
        for (name, branch) in settled {
            guard let commit = branch.pending else { continue }
            reasons.append("branch \(name) moved \(Self.short(branch.baseline)) → \(Self.short(commit))")
            commits[name] = commit
            branches[name] = Branch(baseline: commit)
            triggered[name, default: []].append(commit)
            if triggered[name]!.count > Self.rememberedTriggers { triggered[name]!.removeFirst() }
        }
        return .trigger(matrix: matrix, reason: reasons.joined(separator: "; "), commits: commits)
    }

    /// One branch, one commit: the common case.
    public mutating func observe(branch: String, commit: String, at now: Date) -> WatchAction {
        observe([BranchObservation(branch: branch, commit: commit)], at: now)
    }

    /// The commit a branch is known at (its baseline), for status pages.
    public func baseline(of branch: String) -> String? { branches[branch]?.baseline }

    private mutating func update(_ observation: BranchObservation, at now: Date) {
        let name = observation.branch, commit = observation.commit
        guard var branch = branches[name] else {
            branches[name] = Branch(baseline: commit)
            return
        }
        defer { branches[name] = branch }
        if commit == branch.baseline || triggered[name, default: []].contains(commit) {
            // Back where it was, or at a commit already run: nothing to do, but later
            // moves are described from here.
            branch = Branch(baseline: commit)
            return
        }
        if commit != branch.pending {
            branch.pending = commit
            branch.pendingSince = now
            branch.settled = debounce <= 0
            return
        }
        if let since = branch.pendingSince, now.timeIntervalSince(since) >= debounce {
            branch.settled = true
        }
    }

    static func short(_ commit: String) -> String { String(commit.prefix(7)) }
}

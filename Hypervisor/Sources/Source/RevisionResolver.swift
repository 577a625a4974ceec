import Foundation

/// Pins each (repository, revision) to one commit for the length of a run.
///
/// Make one per run and hand it to that run's ``Builder``: every cell of the run then
/// builds the same commit even when a branch moves while the run is going, and each
/// mirror is fetched once per run however many cells name it. A new run (a new resolver)
/// fetches again and so sees the moved branch.
public actor RevisionResolver {
    /// The store whose `mirrors/` folder holds the bare mirrors.
    public nonisolated let store: URL
    private var updates: [String: Task<Void, any Error>] = [:]
    private var resolutions: [Pair: Task<ResolvedRevision, any Error>] = [:]
    /// Commits fixed before this resolver existed (a distributed run resolves once, at
    /// submission, and every task builds those commits whatever the branches do after).
    private let pinned: [Pair: String]

    private struct Pair: Hashable {
        var repository: String
        var revision: String
    }

    /// - Parameter pinned: revisions already resolved (``ResolvedRevision/readPins(path:)``):
    ///   these resolve to their commit, never to where their branch is now.
    public init(store: URL, pinned: [ResolvedRevision] = []) {
        self.store = store
        self.pinned = Dictionary(pinned.map { (Pair(repository: $0.repository, revision: $0.revision), $0.commit) }, uniquingKeysWith: { first, _ in first })
    }

    /// The mirror of `repository` in this resolver's store.
    public nonisolated func mirror(for repository: String) -> Mirror {
        Mirror(repository: repository, store: store)
    }

    /// The commit `revision` names in `repository`, fetched and resolved on first use in
    /// this run and remembered after.
    ///
    /// - Throws: ``SourceError`` with `.unreachableRepository` when the repository cannot
    ///   be cloned or fetched, `.unknownRevision` when the revision names no commit.
    public func resolve(repository: String, revision: String) async throws -> ResolvedRevision {
        let pair = Pair(repository: repository, revision: revision)
        if let known = resolutions[pair] { return try await known.value }
        let task = Task { try await self.lookUp(pair) }
        resolutions[pair] = task
        return try await task.value
    }

    /// Fetches `repository` into its mirror once per run (concurrent callers share it).
    public func update(repository: String) async throws -> Mirror {
        let mirror = mirror(for: repository)
        if let running = updates[mirror.remote] {
            try await running.value
            return mirror
        }
        let task = Task { try await MirrorGate.shared.serialised(mirror.path.path) { try await mirror.update() } }
        updates[mirror.remote] = task
        try await task.value
        return mirror
    }

    private func lookUp(_ pair: Pair) async throws -> ResolvedRevision {
        // A pinned commit the mirror has already needs no fetch: a cluster's tasks share one
        // mirror, and each fetching it in turn (under its lock) was most of a task's start.
        if let pin = pinned[pair] {
            let mirror = mirror(for: pair.repository)
            if FileManager.default.fileExists(atPath: mirror.path.path),
                (try? await Git.run(["--git-dir", mirror.path.path, "cat-file", "-e", "\(pin)^{commit}"])) != nil
            {
                return ResolvedRevision(repository: pair.repository, revision: pair.revision, commit: pin)
            }
        }
        let mirror = try await update(repository: pair.repository)
        // A revision that starts with "-" would be read by git as an option.
        guard !pair.revision.isEmpty, !pair.revision.hasPrefix("-") else {
            throw SourceError(
                .unknownRevision,
                "revision '\(pair.revision)' is not a valid revision for \(pair.repository): "
                    + "name a branch, tag or commit in the matrix file")
        }
        let pin = pinned[pair]
        do {
            // A pinned commit is only checked to be in the mirror (the build checks it out).
            let output = try await Git.run(
                ["--git-dir", mirror.path.path, "rev-parse", "--verify", "--quiet", "\(pin ?? pair.revision)^{commit}"])
            let commit = output.trimmingCharacters(in: .whitespacesAndNewlines)
            return ResolvedRevision(repository: pair.repository, revision: pair.revision, commit: commit)
        } catch is Git.Failure {
            if let pin {
                throw SourceError(
                    .unknownRevision,
                    "revision '\(pair.revision)' of \(pair.repository) is pinned to commit \(pin) for this run, but the mirror has no such commit "
                        + "(was the history rewritten?); start a new run")
            }
            let branches = (try? await Self.branches(of: mirror)) ?? []
            let shown = branches.prefix(12).joined(separator: ", ") + (branches.count > 12 ? ", …" : "")
            throw SourceError(
                .unknownRevision,
                "revision '\(pair.revision)' not found in \(pair.repository) (branches: \(shown.isEmpty ? "none" : shown)); "
                    + "fix the revision in the matrix file or push it")
        }
    }

    private static func branches(of mirror: Mirror) async throws -> [String] {
        let output = try await Git.run(
            ["--git-dir", mirror.path.path, "for-each-ref", "--format=%(refname:short)", "refs/heads"])
        return output.split(separator: "\n").map(String.init).sorted()
    }
}

import Foundation

/// Reading a mirror's commit graph, for bisection: git's own bisection order over the DAG
/// (`git rev-list --bisect-all`, merges included), parents, subjects.
public struct GitHistory: Sendable {
    /// The bare mirror read (``RevisionResolver/update(repository:)`` fetches it).
    public let mirror: Mirror

    public init(mirror: Mirror) {
        self.mirror = mirror
    }

    private func git(_ arguments: [String]) async throws -> String {
        do {
            return try await Git.run(["--git-dir", mirror.path.path] + arguments)
        } catch let failure as Git.Failure {
            throw SourceError(.unknownRevision, "git \(arguments.joined(separator: " ")) failed in \(mirror.path.path): \(failure.said)")
        }
    }

    /// The full commit id `revision` names.
    public func resolve(_ revision: String) async throws -> String {
        guard !revision.isEmpty, !revision.hasPrefix("-") else {
            throw SourceError(.unknownRevision, "'\(revision)' is not a revision (name a commit, tag or branch)")
        }
        return try await git(["rev-parse", "--verify", "--quiet", "\(revision)^{commit}"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The commits that may still be the first bad one, best bisection point first, as
    /// `git rev-list --bisect-all bad --not goods…` orders them (farthest from both ends
    /// first); `bad` itself is among them.
    public func candidates(bad: String, goods: [String]) async throws -> [String] {
        let output = try await git(["rev-list", "--bisect-all", bad, "--not"] + goods)
        return output.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map(String.init).flatMap { $0.count >= 40 ? $0 : nil }
        }
    }

    /// The commit's parents (two or more for a merge).
    public func parents(_ commit: String) async throws -> [String] {
        try await git(["rev-list", "--parents", "-n", "1", commit]).split(whereSeparator: \.isWhitespace).dropFirst().map(String.init)
    }

    /// True when `ancestor` is `commit` or one of its ancestors.
    public func isAncestor(_ ancestor: String, of commit: String) async -> Bool {
        (try? await Git.run(["--git-dir", mirror.path.path, "merge-base", "--is-ancestor", ancestor, commit])) != nil
    }

    /// Subject, author and date (`YYYY-MM-DD`) of a commit.
    public func describe(_ commit: String) async throws -> (subject: String, author: String, date: String) {
        let text = try await git(["log", "-1", "--format=%s%x00%an%x00%ad", "--date=short", commit])
        let parts = text.trimmingCharacters(in: .newlines).components(separatedBy: "\u{0}")
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "", parts.count > 2 ? parts[2] : "")
    }
}

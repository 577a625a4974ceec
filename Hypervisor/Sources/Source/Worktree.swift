import Foundation

/// A private checkout of one commit for one build, made with `git worktree add` from the
/// mirror.
///
/// A real worktree rather than an export because hypervisors like XMHF64 build in-tree
/// and run `git describe` during the build.
public struct Worktree: Sendable {
    /// The checked-out folder.
    public let path: URL
    /// The mirror it belongs to.
    public let mirror: Mirror
    /// The commit checked out (detached).
    public let commit: String

    /// Checks out `commit` from `mirror` into `path` (which must not exist yet).
    ///
    /// - Throws: ``SourceError`` with `.checkoutFailed`, quoting git.
    public static func add(mirror: Mirror, commit: String, at path: URL) async throws -> Worktree {
        try FileManager.default.createDirectory(
            at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            // Serialised with the mirror's other changes: a `worktree prune` running while
            // `worktree add` is half-way deletes the new worktree's admin folder.
            try await MirrorGate.shared.serialised(mirror.path.path) {
                try await Git.run(
                    ["--git-dir", mirror.path.path, "worktree", "add", "--detach", "--quiet", path.path, commit])
            }
        } catch let failure as Git.Failure {
            throw SourceError(
                .checkoutFailed,
                "cannot check out \(commit) of \(mirror.repository) into \(path.path): git said: \(failure.said). "
                    + "Check free disk space and that the mirror \(mirror.path.path) is intact (delete it to re-clone).")
        }
        return Worktree(path: path, mirror: mirror, commit: commit)
    }

    /// Removes the checkout and git's record of it. Best effort: when git cannot, the
    /// folder is deleted by hand and `git worktree prune` forgets it.
    public func remove() async {
        let mirror = mirror.path.path
        let path = path
        try? await MirrorGate.shared.serialised(mirror) {
            do {
                try await Git.run(["--git-dir", mirror, "worktree", "remove", "--force", path.path])
            } catch {
                try? FileManager.default.removeItem(at: path)
                _ = try? await Git.run(["--git-dir", mirror, "worktree", "prune"])
            }
        }
    }
}

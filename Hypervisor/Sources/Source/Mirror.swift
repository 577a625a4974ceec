import Foundation
import Matrix

/// A bare mirror of one repository in the store, `<store>/mirrors/<name>-<hash>.git`.
///
/// Every build checks out from the mirror, never from the remote, so a run fetches each
/// repository once however many cells it has, and a flaky server is touched once.
public struct Mirror: Sendable, Hashable {
    /// The repository as written in the matrix (URL or path).
    public let repository: String
    /// What git is given: the URL, or the path made absolute.
    public let remote: String
    /// The bare repository folder.
    public let path: URL

    public init(repository: String, store: URL) {
        self.repository = repository
        self.remote = Self.normalise(repository)
        let name = Self.sanitisedName(remote)
        let hash = SHA256.hex(of: remote).prefix(12)
        self.path = store.appendingPathComponent("mirrors").appendingPathComponent("\(name)-\(hash).git")
    }

    /// A local path is made absolute so the same folder named two ways is one mirror, and
    /// so git does not resolve it against whatever directory it runs in.
    static func normalise(_ repository: String) -> String {
        if repository.contains("://") { return repository }
        // scp-like `host:path` (git@github.com:x/y.git) stays as written.
        if let colon = repository.firstIndex(of: ":"), !repository[..<colon].contains("/") {
            return repository
        }
        let url = URL(fileURLWithPath: repository, isDirectory: true).standardizedFileURL
        var path = url.path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// The last path component, reduced to characters safe in a folder name, so a person
    /// listing `mirrors/` sees which repository is which.
    static func sanitisedName(_ remote: String) -> String {
        var last = remote.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? "repo"
        if last.hasSuffix(".git") { last.removeLast(4) }
        let safe = String(last.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        let trimmed = safe.trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return trimmed.isEmpty ? "repo" : String(trimmed.prefix(60))
    }

    /// How long a worktree's HEAD must have been unusable before it is taken for the leftover
    /// of a killed `git worktree add`: git writes a placeholder HEAD (all zeros) first and
    /// the commit a few milliseconds later, so a younger one may be another process's add
    /// in progress (a shared cache has no pid to ask).
    static let brokenWorktreeAge: TimeInterval = 2

    /// Removes git's record (`<mirror>/worktrees/<name>/`) of every worktree whose HEAD
    /// names no commit of the mirror, once that HEAD is ``brokenWorktreeAge`` old: such a
    /// worktree was never checked out (its `worktree add` was killed between the placeholder
    /// and the commit), no build can use it, and git refuses to fetch while it is there.
    /// Its folder, if any, is a leftover ``StoreLeftovers`` removes. Returns how many went.
    ///
    /// Called from ``update()``, which runs inside the mirror's ``MirrorGate`` turn: this
    /// process's own `worktree add`s wait for it.
    func forgetBrokenWorktrees() async throws -> Int {
        let admin = path.appendingPathComponent("worktrees")
        let mirror = path.path
        var forgotten = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: admin.path)) ?? [] {
            let head = admin.appendingPathComponent(name).appendingPathComponent("HEAD").path
            guard let text = try? String(contentsOfFile: head, encoding: .utf8) else { continue }
            if await Self.namesCommit(text, in: mirror) { continue }
            let modified = (try? FileManager.default.attributesOfItem(atPath: head)[.modificationDate] as? Date) ?? .distantPast
            let wait = Self.brokenWorktreeAge - Date().timeIntervalSince(modified)
            if wait > 0 {
                try await Task.sleep(for: .milliseconds(Int(wait * 1000) + 50))
                guard let again = try? String(contentsOfFile: head, encoding: .utf8) else { continue }
                if await Self.namesCommit(again, in: mirror) { continue }
            }
            if (try? FileManager.default.removeItem(at: admin.appendingPathComponent(name))) != nil { forgotten += 1 }
        }
        return forgotten
    }

    /// Whether a worktree HEAD's text (a commit id, or `ref: …`) names a commit of the mirror.
    private static func namesCommit(_ head: String, in mirror: String) async -> Bool {
        let value = head.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = value.hasPrefix("ref: ") ? String(value.dropFirst(5)) : value
        guard !name.isEmpty, !name.hasPrefix("-") else { return false }
        return (try? await Git.run(["--git-dir", mirror, "rev-parse", "--verify", "--quiet", "\(name)^{commit}"])) != nil
    }

    /// Clones the mirror when it is missing, otherwise fetches with `--prune` so moved and
    /// deleted branches are seen.
    func update() async throws {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path.appendingPathComponent("HEAD").path) {
            do {
                // Another process (a cell task on another node of a shared cache) may be
                // fetching this mirror now, and git then fails on its ref locks: try again.
                var attempt = 0
                var repaired = false
                while true {
                    do {
                        try await Git.run(["--git-dir", path.path, "fetch", "--prune", "--quiet", "origin"])
                        break
                    } catch let failure as Git.Failure where attempt < 3 && failure.said.contains("lock") {
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(Int.random(in: 200...1000) * attempt))
                    } catch let failure as Git.Failure where !repaired && failure.said.contains("worktrees/") {
                        // "fatal: bad object worktrees/<name>/HEAD": fetch checks every
                        // worktree's HEAD, and a `worktree add` killed half-way leaves one.
                        repaired = true
                        guard try await forgetBrokenWorktrees() > 0 else { throw failure }
                    }
                }
            } catch let failure as Git.Failure {
                throw SourceError(
                    .unreachableRepository,
                    "cannot fetch \(repository) into its mirror \(path.path): git said: \(failure.said). "
                        + "Check that the repository exists and is reachable from this host.")
            }
            return
        }
        try fileManager.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Clone beside the final name and rename, so a clone killed half-way never looks
        // like a mirror.
        let partial = path.deletingLastPathComponent()
            .appendingPathComponent(".partial-\(UUID().uuidString.prefix(8))-\(path.lastPathComponent)")
        do {
            try await Git.run(["clone", "--mirror", "--quiet", "--", remote, partial.path])
        } catch let failure as Git.Failure {
            try? fileManager.removeItem(at: partial)
            throw SourceError(
                .unreachableRepository,
                "cannot clone \(repository): git said: \(failure.said). "
                    + "Check the repository URL or path in the matrix file and that this host can reach it.")
        }
        if rename(partial.path, path.path) != 0 {
            // Another run made the mirror meanwhile: use theirs.
            try? fileManager.removeItem(at: partial)
        }
    }
}

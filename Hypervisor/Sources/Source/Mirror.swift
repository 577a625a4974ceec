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

    /// Clones the mirror when it is missing, otherwise fetches with `--prune` so moved and
    /// deleted branches are seen.
    func update() async throws {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path.appendingPathComponent("HEAD").path) {
            do {
                // Another process (a cell task on another node of a shared cache) may be
                // fetching this mirror now, and git then fails on its ref locks: try again.
                var attempt = 0
                while true {
                    do {
                        try await Git.run(["--git-dir", path.path, "fetch", "--prune", "--quiet", "origin"])
                        break
                    } catch let failure as Git.Failure where attempt < 3 && failure.said.contains("lock") {
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(Int.random(in: 200...1000) * attempt))
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

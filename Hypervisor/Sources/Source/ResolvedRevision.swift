/// A revision as written in the matrix, pinned to the commit it named when the run
/// resolved it.
public struct ResolvedRevision: Sendable, Hashable, Codable {
    /// The repository as written in the matrix.
    public var repository: String
    /// The branch, tag or commit as written in the matrix.
    public var revision: String
    /// The full commit id (40 hex digits).
    public var commit: String

    public init(repository: String, revision: String, commit: String) {
        self.repository = repository
        self.revision = revision
        self.commit = commit
    }

    /// The first 12 digits of the commit, for logs and folder names.
    public var shortCommit: String { String(commit.prefix(12)) }
}

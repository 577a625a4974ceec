import Foundation

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

extension ResolvedRevision {
    /// The pins file of a distributed run (`nestci build|cell run --revisions FILE`): a JSON
    /// list of `{"repository", "revision", "commit"}`.
    ///
    /// - Throws: ``SourceError`` `.unknownRevision` naming the file and what is wrong.
    public static func readPins(path: String) throws -> [ResolvedRevision] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SourceError(.unknownRevision, "--revisions \(path): cannot read the file (`nestci plan FILE --pin OUT` writes one, a Slurm run writes it into its spool; check the path)")
        }
        let pins: [ResolvedRevision]
        do {
            pins = try JSONDecoder().decode([ResolvedRevision].self, from: data)
        } catch {
            throw SourceError(.unknownRevision, "--revisions \(path): not a JSON list of {\"repository\", \"revision\", \"commit\"} (\(error)); write it again")
        }
        for (index, pin) in pins.enumerated() where pin.commit.count != 40 || !pin.commit.allSatisfy(\.isHexDigit) {
            throw SourceError(.unknownRevision, "--revisions \(path): [\(index)].commit \"\(pin.commit.prefix(60))\" is not a full commit id (40 hex digits)")
        }
        return pins
    }
}

import Foundation
import Hypervisor
import Matrix

/// A distributed run's revisions resolved once, before its tasks start: every Slurm task,
/// Kubernetes pod or GitHub Actions job is then given the same commits (`--revisions FILE`),
/// however the branches move while the run is queued or going. Without pins each task
/// resolves its branch itself, and cells of one run can build different commits.
public enum RevisionPins {
    /// A (repository, revision) as builds name it and pins answer it.
    public struct Key: Hashable, Sendable {
        public var repository: String
        public var revision: String

        public init(repository: String, revision: String) {
            self.repository = repository
            self.revision = revision
        }

        public init(_ pin: ResolvedRevision) { self.init(repository: pin.repository, revision: pin.revision) }
    }

    /// The distinct (repository, revision) pairs of `plan`'s builds, in plan order.
    public static func keys(of plan: Plan) -> [Key] {
        var seen: Set<Key> = []
        return plan.builds.map { Key(repository: $0.spec.repository, revision: $0.spec.revision) }.filter { seen.insert($0).inserted }
    }

    /// A (repository, revision) of the plan that did not resolve, with why.
    public struct Failure: Sendable {
        public var repository: String
        public var revision: String
        public var error: any Error

        /// The resolver's own message (a ``SourceError`` says what to check).
        public var message: String { (error as? SourceError)?.message ?? "\(error)" }
    }

    /// Resolves every distinct (repository, revision) of `plan`'s builds, in plan order,
    /// through the mirrors of `store` (`STORE/mirrors`, fetched once each). `pinned` are kept
    /// as given (a run that was handed pins passes them on unchanged).
    public static func resolve(_ plan: Plan, store: String, pinned: [ResolvedRevision] = []) async -> (pins: [ResolvedRevision], failures: [Failure]) {
        let resolver = RevisionResolver(store: URL(fileURLWithPath: store), pinned: pinned)
        var pins: [ResolvedRevision] = []
        var failures: [Failure] = []
        for key in keys(of: plan) {
            do {
                pins.append(try await resolver.resolve(repository: key.repository, revision: key.revision))
            } catch {
                failures.append(Failure(repository: key.repository, revision: key.revision, error: error))
            }
        }
        return (pins, failures)
    }

    /// Writes the pins file atomically, as the JSON `--revisions FILE` reads
    /// (``ResolvedRevision/readPins(path:)``).
    public static func write(_ pins: [ResolvedRevision], to path: String) throws {
        try AtomicFile.writeJSON(pins, to: path)
    }
}

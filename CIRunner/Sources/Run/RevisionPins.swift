import Foundation
import Hypervisor
import Matrix

/// A distributed run's revisions resolved once, before its tasks start: every Slurm task,
/// Kubernetes pod or GitHub Actions job is then given the same commits (`--revisions FILE`),
/// however the branches move while the run is queued or going. Without pins each task
/// resolves its branch itself, and cells of one run can build different commits.
public enum RevisionPins {
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
        var seen: Set<String> = []
        for spec in plan.builds.map(\.spec) where seen.insert("\(spec.repository)\u{0}\(spec.revision)").inserted {
            do {
                pins.append(try await resolver.resolve(repository: spec.repository, revision: spec.revision))
            } catch {
                failures.append(Failure(repository: spec.repository, revision: spec.revision, error: error))
            }
        }
        return (pins, failures)
    }

    /// The pins as the JSON `--revisions FILE` reads (``ResolvedRevision/readPins(path:)``).
    public static func encode(_ pins: [ResolvedRevision]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(pins)
    }

    /// Writes the pins file atomically.
    public static func write(_ pins: [ResolvedRevision], to path: String) throws {
        try AtomicFile.write(try encode(pins), to: path)
    }
}

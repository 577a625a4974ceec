import Foundation
import Hypervisor
import Matrix

/// A cell's result bundle: what `nestci cell run` leaves in `OUT/<cell id>/` and
/// `nestci ingest` folds into a store. Self-contained and flat (regular files only):
///
///     manifest.json       this manifest: run, matrix (name + digest), nestci version,
///                         cell, outcome, and the size and SHA-256 of every other file
///     result.json         its CellResult
///     serial.log          the serial console (capped: head + tail)
///     vmcs.json           VMCS dumps parsed from serial.log (when there were any)
///     verdict.json, emulator.log, reproduce.sh, verdict-rules.json, grub-<level>.cfg, …
///     build-<level>-<component>.log   build log per level
///     builds.json         the cell's build records (indexed by ingest)
///     host.json           the fingerprint of the host the cell ran on
///
/// The bundle's folder appears by one rename of a finished temporary folder, so a task
/// killed half-way leaves at most a hidden `.tmp-…` folder, never a half bundle.
public struct CellBundle: Sendable, Codable, Equatable {
    /// One file of the bundle.
    public struct File: Sendable, Codable, Equatable {
        /// Its name in the bundle folder (one path component).
        public var name: String
        public var bytes: Int
        public var sha256: String
    }

    /// Bumped when the layout changes: ingest refuses a format it does not know.
    public static let currentFormat = 1
    public static let manifestFile = "manifest.json"
    public static let buildsFile = "builds.json"
    public static let hostFile = "host.json"
    /// Where the store keeps the ingested manifest in the cell's folder (duplicates are
    /// recognised by it).
    public static let ingestedManifest = "bundle-manifest.json"

    public var format: Int
    /// The run the cell belongs to (`--run-id`).
    public var runID: String
    /// The matrix's name, and the SHA-256 of its file: the same name with other content is
    /// another matrix.
    public var matrix: String
    public var matrixDigest: String
    public var nestciVersion: String
    public var cellID: String
    /// The cell's place in the plan (`--index`, `$JOB_COMPLETION_INDEX`).
    public var index: Int
    public var outcome: Outcome
    /// The host (name) it ran on.
    public var host: String
    public var created: Date
    public var files: [File]

    /// The exit status of `nestci cell run` for this outcome: 0 pass or skip, 75 INFRA
    /// (retry it), 1 the hypervisor failed.
    public var exitStatus: ExitStatus { Self.exitStatus(for: outcome) }

    public static func exitStatus(for outcome: Outcome) -> ExitStatus {
        if outcome.isAcceptable { return .success }
        return outcome == .infra ? .tempFail : .failure
    }

    /// SHA-256 of a matrix file's bytes.
    public static func matrixDigest(path: String) throws -> String {
        guard let digest = try FileDigest.sha256(path: path) else {
            throw UserError("cannot read the matrix file \(path) (check the path)", status: .dataError)
        }
        return digest.hex
    }
}

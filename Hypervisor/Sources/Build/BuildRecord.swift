import Foundation
import Matrix

/// What one build did, kept as `record.json` beside its log and outputs in
/// `<store>/builds/<cacheKey>/`.
///
/// A failed or timed-out build is a record, not a thrown error: it is the hypervisor's
/// BUILD-FAIL, evidence for the developer. Thrown errors are nestci's own trouble.
public struct BuildRecord: Sendable, Hashable, Codable {
    /// How the build ended.
    public enum Status: String, Sendable, Codable {
        /// The command exited 0 and every declared output exists.
        case passed
        /// The command failed, or a declared output is missing.
        case failed
        /// The deadline passed; the command's whole process group was killed.
        case timedOut
    }

    public var status: Status
    /// ``BuildSpec/key`` of the spec built.
    public var specKey: String
    /// The cache folder's name: what the spec, commit, toolchain and flags hash to.
    public var cacheKey: String
    public var component: String
    public var repository: String
    public var revision: String
    /// The full commit id the revision resolved to in this run.
    public var commit: String
    public var opt: OptLevel
    public var bits: Bits
    /// The command as run by `/bin/sh -c`, placeholders expanded.
    public var command: String
    /// The `{jobs}` this build was given.
    public var jobs: Int
    /// The compiler identity that went into the cache key.
    public var toolchain: Toolchain
    /// The `{opt}` the command received, e.g. `-O3 -Wno-array-bounds`.
    public var optFlags: String
    /// Each workaround applied, with its reason.
    public var workarounds: [AppliedWorkaround]
    /// True when workarounds were switched off for this build.
    public var workaroundsDisabled: Bool
    /// Collected outputs (only when the command succeeded).
    public var outputs: [BuildOutput]
    /// The combined stdout/stderr file in the build folder.
    public var logFile: String
    /// True when the middle of a long log was cut (head and tail are kept).
    public var logTruncated: Bool
    /// On failure: the first lines of the log containing `error:` (at most 10).
    public var errorLines: [String]
    /// The command's exit status; `nil` when it was killed by a signal or timed out.
    public var exitCode: Int32?
    /// On failure: why, in a sentence (`exit 2`, `timed out after 2 s`, a missing output).
    public var failure: String?
    /// The run that built it (`nil` outside a run, e.g. `nestci build`): a reused
    /// BUILD-FAIL names it.
    public var runID: String?
    /// When the build command started.
    public var startedAt: Date
    /// How long the build command ran.
    public var durationSeconds: Double
    /// The worktree, when it was kept (``BuilderOptions/keepWorktrees``).
    public var worktree: String?

    /// The ad-hoc variant it was built with (extra flags, PATH prefix, environment; nil
    /// for the matrix's own builds). Its commit is ``commit``.
    public var variant: BuildVariant?
    /// SHA-256 of the variant's PATH prefix files when it was built.
    public var variantPathDigest: String?

    /// The folder holding this record, its log and outputs (not stored in the file).
    public var directory: URL?
    /// True when the record came from the cache instead of a build (not stored in the file).
    public var cacheHit: Bool = false

    private enum CodingKeys: String, CodingKey {
        case status, specKey, cacheKey, component, repository, revision, commit, opt, bits, command, jobs,
            toolchain, optFlags, workarounds, workaroundsDisabled, outputs, logFile, logTruncated, errorLines,
            exitCode, failure, runID, startedAt, durationSeconds, worktree, variant, variantPathDigest
    }

    /// One line for a summary: the status and the first error or failure reason.
    public var summary: String {
        switch status {
        case .passed: return "passed (\(optFlags))"
        case .failed, .timedOut:
            let why = errorLines.first ?? failure ?? status.rawValue
            return "\(status.rawValue): \(why)"
        }
    }

    /// Where a reused failed build came from, and how to build it again.
    public var cachedNote: String? {
        guard cacheHit, status != .passed else { return nil }
        return "cached from \(runID.map { "run \($0)" } ?? "an earlier build"); --rebuild to retry"
    }

    /// The build log's location.
    public var logURL: URL? { directory?.appendingPathComponent(logFile) }

    /// The collected file of the output named `name` in the spec, if it was collected.
    public func outputURL(_ name: String) -> URL? {
        guard let directory, let output = outputs.first(where: { $0.name == name }) else { return nil }
        return directory.appendingPathComponent(output.path)
    }
}

/// One collected build output.
public struct BuildOutput: Sendable, Hashable, Codable {
    /// The logical name from the spec's `outputs`.
    public var name: String
    /// Where it is, relative to the build folder: `outputs/<name>/<file name>`.
    public var path: String
    /// Where the build left it, relative to the worktree (the expanded template).
    public var source: String
    /// Lower-case hex SHA-256 of the content.
    public var sha256: String
    public var size: Int

    public init(name: String, path: String, source: String, sha256: String, size: Int) {
        self.name = name
        self.path = path
        self.source = source
        self.sha256 = sha256
        self.size = size
    }
}

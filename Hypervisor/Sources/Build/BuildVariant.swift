import Foundation
import Matrix

/// How an ad-hoc build (a bisection or triage step) differs from the cell's own build of a
/// level: another commit, extra flags, a compiler wrapper first on PATH, extra environment.
///
/// All of it enters the build cache key (the PATH prefix by the SHA-256 of its files, not
/// by its path) and the build record, so steps are cached by what they build with.
public struct BuildVariant: Codable, Hashable, Sendable {
    /// Overrides the level's revision (a full or abbreviated commit id, or any revision the
    /// mirror resolves).
    public var commit: String?
    /// Appended after the cell's effective flags (`{opt}`), e.g. `-fno-strict-aliasing`.
    public var extraFlags: [String]
    /// A directory put first on PATH for the build command.
    public var pathPrefix: String?
    /// Extra environment variables for the build command.
    public var environment: [String: String]

    public init(commit: String? = nil, extraFlags: [String] = [], pathPrefix: String? = nil, environment: [String: String] = [:]) {
        self.commit = commit
        self.extraFlags = extraFlags
        self.pathPrefix = pathPrefix
        self.environment = environment
    }

    /// True when it changes nothing.
    public var isEmpty: Bool { commit == nil && extraFlags.isEmpty && pathPrefix == nil && environment.isEmpty }

    /// Stable text of the variant, for step identities: `commit=…;flags=…;path=…;env.K=V`.
    public var canonical: String {
        var parts = ["commit=\(commit ?? "")", "flags=\(extraFlags.joined(separator: " "))", "path=\(pathPrefix ?? "")"]
        parts += environment.sorted { $0.key < $1.key }.map { "env.\($0.key)=\($0.value)" }
        return parts.joined(separator: ";")
    }

    /// SHA-256 over the names and contents of the regular files in `directory` (sorted by
    /// name; symbolic links followed): what a PATH prefix contributes to a cache key.
    /// Nil when the directory cannot be read.
    public static func contentDigest(of directory: String) -> String? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        var lines: [String] = []
        for name in names.sorted() {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let digest = try? FileDigest.sha256(path: path) else { continue }
            lines.append("\(name)=\(digest.hex)")
        }
        return SHA256.hex(of: lines.joined(separator: "\n"))
    }
}

extension BuildSpec {
    /// This spec as `variant` builds it. An empty variant returns the spec unchanged (so
    /// its ``BuildSpec/key`` and cache key are the matrix's own).
    public func applying(_ variant: BuildVariant) -> BuildSpec {
        var spec = self
        if let commit = variant.commit { spec.revision = commit }
        if !variant.extraFlags.isEmpty { spec.extraFlags = (extraFlags ?? []) + variant.extraFlags }
        if let prefix = variant.pathPrefix { spec.pathPrefix = prefix }
        if !variant.environment.isEmpty { spec.environment = (environment ?? [:]).merging(variant.environment) { $1 } }
        return spec
    }

    /// The variant this spec carries (empty for the matrix's own builds).
    public var variant: BuildVariant {
        BuildVariant(extraFlags: extraFlags ?? [], pathPrefix: pathPrefix, environment: environment ?? [:])
    }
}

import Foundation
import Matrix

/// A build with everything that decides its result pinned: the commit the revision names
/// in this run, the compiler's identity and the flags. Its ``cacheKey`` names the cache
/// folder; requests with equal keys are built once.
public struct BuildPlan: Sendable, Hashable {
    /// The spec as the matrix expanded it.
    public var spec: BuildSpec
    /// The commit this run builds for the spec's revision.
    public var source: ResolvedRevision
    /// The compiler the spec names, as probed.
    public var toolchain: Toolchain
    /// `{opt}` and the workarounds in it.
    public var flags: EffectiveFlags
    /// The cache folder name (``BuildCache/key(spec:commit:toolchain:flags:)``).
    public var cacheKey: String
    /// SHA-256 of the files of the spec's PATH prefix (an ad-hoc variant's wrapper), if any.
    public var pathDigest: String?

    public init(spec: BuildSpec, source: ResolvedRevision, toolchain: Toolchain, flags: EffectiveFlags, pathDigest: String? = nil) {
        self.spec = spec
        self.source = source
        self.toolchain = toolchain
        self.flags = flags
        self.pathDigest = pathDigest
        // A variant's extra flags are in `flags.opt` already; its PATH prefix counts by
        // content and its environment by value. A variant-less spec adds no line.
        var variantLines: [String] = []
        if spec.pathPrefix != nil { variantLines.append("pathPrefix.sha256=\(pathDigest ?? "unreadable")") }
        variantLines += (spec.environment ?? [:]).sorted { $0.key < $1.key }.map { "env.\($0.key)=\($0.value)" }
        self.cacheKey = BuildCache.key(spec: spec, commit: source.commit, toolchain: toolchain, flags: flags, variantLines: variantLines)
    }

    /// The environment of the build command: the variant's variables, and its PATH prefix
    /// before the inherited PATH.
    public var environment: [String: String] {
        var environment = spec.environment ?? [:]
        if let prefix = spec.pathPrefix {
            let inherited = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            environment["PATH"] = "\(prefix):\(inherited)"
        }
        return environment
    }

    /// The values the command and output templates may name: the spec's variables,
    /// `{bits}`, `{opt}` (the effective flags) and `{jobs}`.
    public func templateValues(jobs: Int) -> [String: String] {
        var values = spec.variables
        if values["bits"] == nil { values["bits"] = spec.bits.rawValue }
        values["opt"] = flags.opt
        values["jobs"] = String(jobs)
        return values
    }
}

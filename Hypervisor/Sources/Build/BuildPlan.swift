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

    public init(spec: BuildSpec, source: ResolvedRevision, toolchain: Toolchain, flags: EffectiveFlags) {
        self.spec = spec
        self.source = source
        self.toolchain = toolchain
        self.flags = flags
        self.cacheKey = BuildCache.key(spec: spec, commit: source.commit, toolchain: toolchain, flags: flags)
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

import Matrix

/// A workaround the flag policy applied to one build, as the build record shows it.
public struct AppliedWorkaround: Sendable, Hashable, Codable {
    /// The flags added to `{opt}`.
    public var flags: [String]
    /// Why they are needed, e.g. the GCC bug.
    public var reason: String

    public init(flags: [String], reason: String) {
        self.flags = flags
        self.reason = reason
    }
}

/// The `{opt}` a build command receives, and how it was arrived at.
public struct EffectiveFlags: Sendable, Hashable, Codable {
    /// The level flag and the workaround flags, space-separated: `-O3 -Wno-array-bounds`.
    public var opt: String
    /// Every workaround that contributed flags, in table order.
    public var applied: [AppliedWorkaround]
    /// True when workarounds were switched off (``BuilderOptions/noWorkarounds``).
    public var workaroundsDisabled: Bool

    public init(opt: String, applied: [AppliedWorkaround], workaroundsDisabled: Bool) {
        self.opt = opt
        self.applied = applied
        self.workaroundsDisabled = workaroundsDisabled
    }
}

/// Decides the optimisation flags of a build: the level plus the workarounds this
/// toolchain needs at that level, from the built-in table and the matrix file.
///
/// Pure: the same level, toolchain and table always give the same flags (and so the same
/// cache key).
public enum FlagPolicy {
    /// The flags for `level` built by `toolchain`.
    ///
    /// - Parameters:
    ///   - extra: workarounds declared by the matrix file (``BuildSpec/workarounds``),
    ///     considered after ``FlagWorkaround/builtIn``.
    ///   - disabled: apply none, to show a toolchain's raw failure.
    public static func flags(
        for level: OptLevel, toolchain: Toolchain, extra: [FlagWorkaround] = [],
        builtIn: [FlagWorkaround] = FlagWorkaround.builtIn, disabled: Bool = false
    ) -> EffectiveFlags {
        var flags = [level.flag]
        var applied: [AppliedWorkaround] = []
        if !disabled {
            for workaround in builtIn + extra where applies(workaround, level: level, toolchain: toolchain) {
                let new = workaround.flags.filter { !flags.contains($0) }
                guard !new.isEmpty else { continue }
                flags += new
                applied.append(AppliedWorkaround(flags: new, reason: workaround.reason))
            }
        }
        return EffectiveFlags(opt: flags.joined(separator: " "), applied: applied, workaroundsDisabled: disabled)
    }

    /// Whether `workaround` is for this compiler family, version and level.
    public static func applies(_ workaround: FlagWorkaround, level: OptLevel, toolchain: Toolchain) -> Bool {
        guard workaround.compiler == toolchain.family, workaround.levels.contains(level) else { return false }
        let major = toolchain.major
        return major >= workaround.minMajor && (workaround.maxMajor.map { major <= $0 } ?? true)
    }
}

import Matrix

/// A compiler as probed on this host: what the cache key and the flag policy know of it.
public struct Toolchain: Sendable, Hashable, Codable {
    /// The compiler command the matrix names (`gcc`, `i686-linux-gnu-gcc`).
    public var command: String
    /// The compiler family: `gcc`, `clang`, or `unknown`. Matched against
    /// ``FlagWorkaround/compiler``.
    public var family: String
    /// The full version, e.g. `12.2.0`.
    public var version: String
    /// The target triple from `-dumpmachine`, e.g. `x86_64-linux-gnu`.
    public var target: String
    /// The first line of `--version`, e.g. `gcc (Debian 12.2.0-14+deb12u1) 12.2.0`.
    public var versionLine: String
    /// SHA-256 of the whole `--version` output: a distribution rebuild of the same
    /// version (a new `-14+deb12u2`) still changes it.
    public var versionOutputSHA256: String

    public init(
        command: String, family: String, version: String, target: String, versionLine: String,
        versionOutputSHA256: String
    ) {
        self.command = command
        self.family = family
        self.version = version
        self.target = target
        self.versionLine = versionLine
        self.versionOutputSHA256 = versionOutputSHA256
    }

    /// The major version (`12` of `12.2.0`), 0 when the version is not a number.
    public var major: Int { Int(version.split(separator: ".").first ?? "") ?? 0 }

    /// What the build cache key includes, so that a compiler upgrade rebuilds.
    public var fingerprint: String {
        "\(command)|\(family)|\(version)|\(target)|\(versionOutputSHA256)"
    }

    /// Tells gcc from clang by what `--version` prints: clang names itself; gcc (also
    /// as a cross compiler or under a distribution's name) names the FSF or gcc.
    static func family(fromVersionOutput output: String) -> String {
        let lower = output.lowercased()
        if lower.contains("clang") { return "clang" }
        if lower.contains("free software foundation") || lower.contains("gcc") { return "gcc" }
        return "unknown"
    }
}

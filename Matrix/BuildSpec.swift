/// Everything that determines one build, as a pure value: the unit of single-flight
/// building and of the build cache (together with the resolved commit and the toolchain).
///
/// Cells that need the same build share one ``BuildSpec`` (and so one ``key``).
public struct BuildSpec: Sendable, Hashable, Codable {
    /// The component's name in the matrix file, e.g. `xmhf64`.
    public var component: String
    /// Git repository: URL or local path.
    public var repository: String
    /// Branch, tag or commit, as written in the matrix (resolved once per run).
    public var revision: String
    /// The build command template, e.g. `./configure --with-opt='{opt}' && make -j{jobs}`.
    public var command: String
    /// Declared outputs: logical name → path template relative to the worktree.
    public var outputs: [String: String]
    /// The optimisation level this build is for.
    public var opt: OptLevel
    /// The bitness this build is for.
    public var bits: Bits
    /// Values of every placeholder the command and output templates use, other than
    /// `{opt}` (expanded by the flag policy) and `{jobs}` (chosen by the scheduler).
    /// Includes `bits`, `options` and user axes when the templates name them.
    public var variables: [String: String]
    /// The compiler whose identity is part of the cache key (`gcc`, `i686-linux-gnu-gcc`).
    public var compiler: String
    /// Extra flag workarounds declared by the matrix file, on top of the built-in table.
    public var workarounds: [FlagWorkaround]
    /// Wall-clock limit for the build, in seconds.
    public var timeoutSeconds: Int
    /// An ad-hoc variant's flags, appended after the effective `{opt}` flags (nil for the
    /// matrix's own builds; set by `BuildSpec.applying(_:)` in Hypervisor).
    public var extraFlags: [String]?
    /// An ad-hoc variant's directory put first on PATH for the build (a compiler wrapper).
    public var pathPrefix: String?
    /// An ad-hoc variant's extra environment for the build command.
    public var environment: [String: String]?

    public init(
        component: String, repository: String, revision: String, command: String,
        outputs: [String: String], opt: OptLevel, bits: Bits, variables: [String: String],
        compiler: String = "gcc", workarounds: [FlagWorkaround] = [], timeoutSeconds: Int = 1800
    ) {
        self.component = component
        self.repository = repository
        self.revision = revision
        self.command = command
        self.outputs = outputs
        self.opt = opt
        self.bits = bits
        self.variables = variables
        self.compiler = compiler
        self.workarounds = workarounds
        self.timeoutSeconds = timeoutSeconds
    }

    /// A stable short id of this spec (before revision resolution and toolchain probing):
    /// what `nestci plan` prints and what `--only KEY` selects.
    public var key: String {
        var lines = [
            "component=\(component)", "repository=\(repository)", "revision=\(revision)",
            "command=\(command)", "opt=\(opt.rawValue)", "bits=\(bits.rawValue)", "compiler=\(compiler)",
        ]
        lines += outputs.sorted { $0.key < $1.key }.map { "output.\($0.key)=\($0.value)" }
        lines += variables.sorted { $0.key < $1.key }.map { "var.\($0.key)=\($0.value)" }
        lines += workarounds.map { "workaround=\($0.canonical)" }
        // Only an ad-hoc variant adds lines: the matrix's own keys stay as they were.
        if let extraFlags { lines.append("extraFlags=\(extraFlags.joined(separator: " "))") }
        if let pathPrefix { lines.append("pathPrefix=\(pathPrefix)") }
        lines += (environment ?? [:]).sorted { $0.key < $1.key }.map { "env.\($0.key)=\($0.value)" }
        return component + "-" + String(SHA256.hex(of: lines.joined(separator: "\n")).prefix(10))
    }
}

/// A compiler flag a toolchain needs at some optimisation levels to build code that is
/// correct, e.g. `-Wno-array-bounds` for GCC ≥ 12 at -O2/-O3/-Os (GCC bug 104657).
public struct FlagWorkaround: Sendable, Hashable, Codable {
    /// Compiler family this applies to: `gcc` or `clang` (matched against the probed identity).
    public var compiler: String
    /// Lowest major version affected (inclusive).
    public var minMajor: Int
    /// Highest major version affected (inclusive); `nil` means every later one too.
    public var maxMajor: Int?
    /// Levels at which it applies.
    public var levels: Set<OptLevel>
    /// The flags appended to `{opt}`.
    public var flags: [String]
    /// Why, in words a developer reads in the build record.
    public var reason: String

    public init(
        compiler: String, minMajor: Int, maxMajor: Int? = nil, levels: Set<OptLevel>,
        flags: [String], reason: String
    ) {
        self.compiler = compiler
        self.minMajor = minMajor
        self.maxMajor = maxMajor
        self.levels = levels
        self.flags = flags
        self.reason = reason
    }

    var canonical: String {
        let levelList = levels.map(\.rawValue).sorted().joined(separator: ",")
        return "\(compiler)|\(minMajor)|\(maxMajor.map(String.init) ?? "")|\(levelList)|\(flags.joined(separator: " "))"
    }

    /// The built-in table.
    public static let builtIn: [FlagWorkaround] = [
        FlagWorkaround(
            compiler: "gcc", minMajor: 12, levels: [.O2, .O3, .Os], flags: ["-Wno-array-bounds"],
            reason:
                "GCC bug 104657: GCC >= 12 reports a false -Warray-bounds for constant addresses below 4096 (e.g. the BIOS data area) at -O2/-O3/-Os, fatal under -Werror"
        ),
        // Seen on XMHF64 amd64 at -O3 (whose own build script passes the flag). The same
        // object-size analysis as the -Warray-bounds bug, active from -O2; the flag only
        // silences a warning, so it changes no code at the levels that do not need it.
        FlagWorkaround(
            compiler: "gcc", minMajor: 12, levels: [.O2, .O3, .Os], flags: ["-Wno-stringop-overflow"],
            reason:
                "GCC >= 12 reports a false -Wstringop-overflow (XMHF64 amd64 -O3: tpm.h:346:16: writing 1 byte into a region of size 0; XMHF64's build script passes -Wno-stringop-overflow), fatal under -Werror"
        ),
    ]
}

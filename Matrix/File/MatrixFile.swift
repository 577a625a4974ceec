/// A matrix file, validated: what to build, how levels nest, which axes to expand.
///
/// See README.md ("The matrix file") for the format; ``MatrixFile/load(path:)`` reads one.
public struct MatrixFile: Sendable, Equatable {
    /// Names the matrix; history and regressions are kept per name.
    public var name: String
    /// Built components and prebuilt images, by name.
    public var components: [String: Component]
    /// Nesting chains, by name.
    public var chains: [String: Chain]
    /// Axis name → values, in file order. Always has `chain`, `opt`, `bits`, `smp`, `backend`.
    public var axes: [(name: String, values: [String])]
    /// Partial cells removed from the cartesian product (GitHub Actions semantics).
    public var exclude: [[String: String]]
    /// Partial cells that extend matching cells or are added as new ones.
    public var include: [[String: String]]
    /// Project-specific flag workarounds, on top of ``FlagWorkaround/builtIn``.
    public var workarounds: [FlagWorkaround]
    /// Folder of the matrix file: relative repository and image paths are resolved here.
    public var baseDirectory: String
    /// Failures already known (`knownIssues`), expired ones included: filter them with
    /// ``KnownIssue/active(_:on:)`` at run time.
    public var knownIssues: [KnownIssue] = []

    /// Component → its `commitURL` template, for those that have one.
    public var commitURLs: [String: String] { components.compactMapValues(\.commitURL) }

    public static func == (lhs: MatrixFile, rhs: MatrixFile) -> Bool {
        lhs.name == rhs.name && lhs.components == rhs.components && lhs.chains == rhs.chains
            && lhs.axes.map(\.name) == rhs.axes.map(\.name) && lhs.axes.map(\.values) == rhs.axes.map(\.values)
            && lhs.exclude == rhs.exclude && lhs.include == rhs.include && lhs.workarounds == rhs.workarounds
            && lhs.knownIssues == rhs.knownIssues
    }

    /// Values of one axis (empty when the axis does not exist).
    public func values(of axis: String) -> [String] { axes.first { $0.name == axis }?.values ?? [] }

    /// The five axes every cell has.
    public static let builtInAxes = ["chain", "opt", "bits", "smp", "backend"]

    /// Largest expansion accepted: beyond this a typo (an extra axis value) is likelier than intent.
    public static let maxCells = 10_000
}

/// A hypervisor or guest built from git, or a prebuilt disk image.
public struct Component: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Runs guests: needs VMX from whatever runs it.
        case hypervisor
        /// A guest kernel built from source (e.g. LHV run alone).
        case guest
        /// A prebuilt disk image, attached as it is.
        case image
    }

    public var name: String
    public var kind: Kind
    /// For built components.
    public var source: Source?
    public var build: BuildRecipe?
    public var boot: BootRecipe?
    /// Default value of `{options}` in its build command.
    public var options: String
    /// For images: the disk file, and its bitness if it matters for validity.
    public var imagePath: String?
    public var imageBits: Bits?
    /// `https://…/commit/{commit}`: where a commit of its repository is shown (``CommitURLTemplate``).
    public var commitURL: String? = nil

    public struct Source: Sendable, Equatable {
        /// URL or local path (relative to the matrix file).
        public var repository: String
        /// Branch, tag or commit.
        public var revision: String
    }

    /// How a component is built.
    public struct BuildRecipe: Sendable, Equatable {
        /// Shell command template run in a fresh worktree: `{opt}`, `{bits}`, `{jobs}`,
        /// `{options}` and any axis or cell variable.
        public var command: String
        /// Logical output name → path template relative to the worktree.
        public var outputs: [String: String]
        /// Compiler whose identity keys the cache.
        public var compiler: String
        public var timeoutSeconds: Int?
    }

    /// How a built component's level boots from its GRUB disk.
    public struct BootRecipe: Sendable, Equatable {
        /// Output name of the multiboot kernel.
        public var kernel: String
        /// Kernel command line (template).
        public var cmdline: String
        /// Output names loaded as multiboot modules, in order.
        public var modules: [String]
        /// How the next level is handed over.
        public var handoff: Handoff
        /// A custom grub.cfg template replacing the generated menu entry, or `nil`.
        public var grubTemplate: String?
    }

    /// The ways a level hands control to the next disk.
    public enum Handoff: String, Sendable, Equatable, CaseIterable {
        /// XMHF64's way: `module --nounzip (hdN+1)+1`, the next disk's boot sector as a module.
        case bootSector = "boot-sector"
        /// GRUB chain-loads the next disk itself (no kernel of this level runs first).
        case chainloader
        /// Nothing is handed over (the last level).
        case none
    }
}

/// A named nesting: level 0 runs on the emulator, each next level inside the previous.
public struct Chain: Sendable, Equatable {
    public var name: String
    public var levels: [Level]
    public var verdict: VerdictRules
    public var bootTimeoutSeconds: Int
    public var buildTimeoutSeconds: Int
    /// Guest memory for the emulator.
    public var memoryMiB: Int
    /// Per-backend emulator settings and whether the cells need VMX (`emulator`).
    public var emulator = ChainEmulator()
    /// Milestones to time and the thresholds of performance findings (`milestones`, `performance`).
    public var performance = PerformanceRules()

    /// One level of a chain: a component and per-level overrides of the cell's axes.
    public struct Level: Sendable, Equatable {
        public var component: String
        /// `nil` = the cell's `opt`; `"O0"` = fixed; `"$name"` = the value of axis `name`.
        public var opt: String?
        public var bits: String?
        /// Replaces the component's default `{options}`.
        public var options: String?
        /// Extra template variables for this level's build.
        public var variables: [String: String]
        /// Replaces the component's kernel command line.
        public var cmdline: String?
    }
}

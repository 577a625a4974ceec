/// One cell of an expanded matrix: a chain booted with fixed axis values.
public struct Cell: Sendable, Hashable, Codable, Identifiable {
    /// Stable id: the same axis values give the same id across runs and however the
    /// matrix file is ordered; history and regressions are keyed by it.
    public var id: String
    /// Every axis value and include-added variable of this cell.
    public var values: [String: String]
    public var chain: String
    public var opt: OptLevel
    public var bits: Bits
    public var smp: Int
    public var backend: Backend
    /// Level 0 (on the emulator) first.
    public var levels: [PlannedLevel]
    public var verdict: VerdictRules
    public var bootTimeoutSeconds: Int
    public var memoryMiB: Int
    /// True when some level is a hypervisor (unless the chain's `emulator.needsVMX` says
    /// otherwise): the backend must offer VMX, or the cell is SKIPped before it boots.
    public var needsVMX: Bool
    /// The chain's emulator settings for this cell's backend; nil = the backend's defaults.
    /// Part of the cell's record, not of its id: changing a CPU model is a change of the
    /// same cell's configuration, as changing its build options is.
    public var emulator: EmulatorSettings?
    /// The chain's milestones and performance thresholds (nil in plans written before them).
    /// Not configuration: see ``PerformanceRules``.
    public var performance: PerformanceRules?

    /// `xmhf64 O3/i386 → lhv O3/i386`.
    public var levelSummary: String {
        levels.map(\.summary).joined(separator: " → ")
    }

    /// The stable id of a cell with these values.
    public static func id(for values: [String: String]) -> String {
        let canonical = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        return String(SHA256.hex(of: canonical).prefix(10))
    }

    /// The cell's values other than `opt`: cells equal in this differ only in opt level
    /// (the -O differential compares them).
    public var valuesExceptOpt: [String: String] {
        var copy = values
        copy["opt"] = nil
        return copy
    }
}

/// One level of a cell, fully resolved.
public struct PlannedLevel: Sendable, Hashable, Codable {
    public var component: String
    public var kind: String
    public var opt: OptLevel?
    public var bits: Bits?
    /// The build this level needs (`nil` for images).
    public var build: BuildSpec?
    /// Absolute path of a prebuilt image.
    public var imagePath: String?
    /// How it boots (`nil` for images).
    public var boot: LevelBoot?

    /// `lhv O3/i386`, or `debian11x86 (image)`.
    public var summary: String {
        if let opt, let bits { return "\(component) \(opt.rawValue)/\(bits.rawValue)" }
        return "\(component) (image)"
    }
}

/// A level's GRUB entry, resolved: output names, command line and hand-over.
public struct LevelBoot: Sendable, Hashable, Codable {
    public var kernel: String
    public var cmdline: String
    public var modules: [String]
    /// `boot-sector`, `chainloader` or `none` (the last level always `none`).
    public var handoff: String
    public var grubTemplate: String?
}

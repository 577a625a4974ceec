/// How a chain's serial console is judged. Pure data; the scanner in CIRunner applies it.
public struct VerdictRules: Sendable, Hashable, Codable {
    /// All must be met for PASS.
    public var pass: [PassRule]
    /// Any one decides FAIL.
    public var fail: [Marker]
    /// Lines that mean "this host cannot run it" (no VMX): SKIP when the backend probe
    /// already said the host lacks VMX, FAIL otherwise.
    public var unsupported: [Marker]
    /// Regex whose first capture group is the CPU id of a line (for per-CPU counts).
    public var cpuPattern: String

    public init(pass: [PassRule], fail: [Marker], unsupported: [Marker], cpuPattern: String = VerdictRules.defaultCPUPattern) {
        self.pass = pass
        self.fail = fail
        self.unsupported = unsupported
        self.cpuPattern = cpuPattern
    }

    /// XMHF's `CPU(0x01): ...` prefix.
    public static let defaultCPUPattern = #"^CPU\((0x[0-9a-fA-F]+)\)"#

    /// XMHF64's failure lines (DESIGN.md), applied unless a chain turns them off.
    public static let defaultFailMarkers: [Marker] = [
        Marker(name: "xmhf-assert", regex: #"Fatal: Halting! Condition '.*' failed"#),
        Marker(name: "unhandled-exception", regex: #"unhandled exception"#),
        Marker(name: "vm-entry-error", regex: #"VM-ENTRY error"#),
        Marker(name: "vmlaunch-error", regex: #"VMLAUNCH error"#),
        Marker(name: "vmresume-error", regex: #"VMRESUME error"#),
        Marker(name: "halt", regex: #"HALT!"#),
        Marker(name: "triple-fault", regex: #":TRIPLE_FAULT:"#),
    ]

    /// "No VMX on this host" lines: XMHF64's and the demo hypervisor's.
    public static let defaultUnsupportedMarkers: [Marker] = [
        Marker(name: "no-vmx", regex: #"does not support (VT|VMX)"#)
    ]
}

/// A named regular expression matched against each serial line.
public struct Marker: Sendable, Hashable, Codable {
    /// Short name shown as the deciding rule (`halt`, `pass[0]`).
    public var name: String
    /// ICU/NSRegularExpression syntax, matched anywhere in the line.
    public var regex: String

    public init(name: String, regex: String) {
        self.name = name
        self.regex = regex
    }
}

/// One pass condition: a marker seen once, or seen at least N times on every CPU.
public struct PassRule: Sendable, Hashable, Codable {
    public var marker: Marker
    /// When set, every CPU must print the marker at least this many times
    /// (XMHF64's CI: more than 20 `LHV in XMHF test iter` lines per CPU, i.e. 21).
    public var minPerCPU: Int?
    /// How many CPUs must reach `minPerCPU`; defaults to the cell's `smp`.
    public var cpus: Int?

    public init(marker: Marker, minPerCPU: Int? = nil, cpus: Int? = nil) {
        self.marker = marker
        self.minPerCPU = minPerCPU
        self.cpus = cpus
    }
}

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
        // HALT! and HALTING! alike: a guest that says it halts will print nothing more,
        // and waiting for the deadline tells nobody anything. Lines that halt because the
        // CPU lacks a feature are unsupported markers, which are checked first.
        Marker(name: "halt", regex: #"HALT(ING)?!"#),
        Marker(name: "triple-fault", regex: #":TRIPLE_FAULT:"#),
    ]

    /// "This CPU cannot run me" lines: no VT-x, no EPT, no nested paging (AMD's NPT), no
    /// SVM, not an Intel CPU. XMHF64 prints `CPU(0x00) does not support VT. Halting!` on
    /// an Intel CPU without VMX, `CPU(0x00) is not an Intel CPU. Halting!` on an AMD one in
    /// its VMX build, and `CPU(0x00): No support for Nested Paging, HALTING!` or
    /// `no SVM extensions. HALT!` on its SVM path; the demo hypervisor
    /// `does not support VMX. Halting!`. Checked before the fail markers, because such a
    /// line often ends in `HALT!` too.
    public static let defaultUnsupportedMarkers: [Marker] = [
        Marker(name: "no-vmx", regex: #"(?i)(does not support|no support for|lacks?) (VT-x|VT|VMX)\b|\b(VT-x|VMX) (is )?not (supported|available)"#),
        Marker(name: "no-ept", regex: #"(?i)(does not support|no support for|lacks?) (EPT|extended page tables)\b|\bEPT (is )?not (supported|available)"#),
        Marker(name: "no-nested-paging", regex: #"(?i)(does not support|no support for|lacks?) (nested paging|NPT)\b|\bnested paging (is )?not (supported|available)"#),
        Marker(name: "no-svm", regex: #"(?i)no SVM extensions|SVM extensions disabled|(does not support|no support for) (SVM|AMD-V)\b"#),
        Marker(name: "not-intel", regex: #"is not an Intel CPU"#),
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

import Matrix

/// One boot to run and judge.
public struct BootRequest: Sendable {
    public var plan: BootPlan
    public var rules: VerdictRules
    /// The cell folder: serial log, emulator log and generated config go here.
    public var folder: String
    /// From boot start to TIMEOUT.
    public var deadline: Duration
    /// What the host probe said about VMX on this backend (SKIP vs FAIL for
    /// "unsupported" lines), and its words.
    public var hostHasVMX: Bool
    public var vmxReason: String
    /// The backend; nil picks ``Emulators/emulator(for:)``.
    public var emulator: (any Emulator)?
    /// How often the serial file is read while the guest runs.
    public var pollInterval: Duration
    /// How many last serial lines the verdict of a TIMEOUT or stopped guest carries.
    public var tailLines: Int
    /// After a fail marker, how long at most the guest may go on printing before it is
    /// stopped: hypervisors print their evidence (a VMCS dump) right after the failure
    /// line, and that dump is what a developer diffs. Zero stops at once.
    public var evidenceGrace: Duration
    /// Within ``evidenceGrace``, serial silence this long means the guest has finished
    /// (it halted); stop then.
    public var evidenceQuiet: Duration
    /// Most bytes of serial output stored for this boot (head and tail; the middle is cut
    /// while the guest prints). Lines are judged whether stored or not.
    public var serialLimit: Int
    /// Serial lines to time (the chain's milestones); they decide nothing.
    public var milestones: [Marker] = []

    public init(
        plan: BootPlan, rules: VerdictRules, folder: String, deadline: Duration, hostHasVMX: Bool, vmxReason: String = "",
        emulator: (any Emulator)? = nil, pollInterval: Duration = .milliseconds(25), tailLines: Int = 20,
        evidenceGrace: Duration = .seconds(5), evidenceQuiet: Duration = .milliseconds(500),
        serialLimit: Int = SerialLogCapper.defaultLimit
    ) {
        self.serialLimit = serialLimit
        self.plan = plan
        self.rules = rules
        self.folder = folder
        self.deadline = deadline
        self.hostHasVMX = hostHasVMX
        self.vmxReason = vmxReason
        self.emulator = emulator
        self.pollInterval = pollInterval
        self.tailLines = tailLines
        self.evidenceGrace = evidenceGrace
        self.evidenceQuiet = evidenceQuiet
    }
}

/// A judged boot: the verdict, how long things took, and where the evidence is.
public struct BootResult: Sendable {
    public var verdict: Verdict
    /// The emulator command, pasteable into a shell (run from ``folder``).
    public var commandLine: String
    public var folder: String
    public var serialLog: String
    public var emulatorLog: String
    public var backendLog: String?
    /// Boot start (emulator spawned) → verdict decided.
    public var timeToDecision: Duration
    /// Verdict decided → emulator process group gone and reaped (for a fail marker this
    /// includes the evidence grace: the guest finishing its dump).
    public var stopDuration: Duration
    /// Deciding serial line written (the file's mtime when it was read) → emulator gone:
    /// what a user waits beyond the guest itself. Nil when no line decided.
    public var verdictLatency: Duration?
    /// Boot start → first serial byte read.
    public var firstOutput: Duration?
    /// How the emulator ended (nil when it never started); exit codes lie, so this is
    /// evidence only.
    public var emulatorTermination: String?
    public var serialLines: Int
    public var serialBytes: Int
    /// The emulator's pid (= its process group), nil when it never started.
    public var emulatorPID: Int32?
    /// The boot's timeline (``MilestoneTime/timeline(firstOutput:reached:verdict:)``).
    public var milestones: [MilestoneTime] = []
    /// Per-CPU pass rules' counting rates.
    public var rates: [CountingRate] = []
}

/// Where one cell's evidence lives in the store. The dashboard copies (or hard-links)
/// these files into the cell's folder, so the dashboard folder can be served on its own.
public struct DashboardCellEvidence: Sendable, Codable, Equatable {
    /// Absolute path of the full serial log; shown as a tail and linked as `serial.log`.
    public var serialLog: String?
    /// Level or component name → absolute path of its build log (linked as `build-<name>.log`).
    public var buildLogs: [String: String]
    /// Absolute path of `vmcs.json` (a `VMCSDumpSet`); rendered as tables and linked.
    public var vmcsJSON: String?
    /// Absolute path of the cell's `reproduce.sh`; linked.
    public var reproduceScript: String?
    /// The VMCS diff against the O0 sibling, as text (the caller computes it).
    public var vmcsDiff: String?
    /// The O0 sibling's cell id, linked next to the diff.
    public var o0SiblingID: String?
    /// The deciding serial line's text, when the caller has it (else the result's reason is shown).
    public var decidingLine: String?

    public init(
        serialLog: String? = nil, buildLogs: [String: String] = [:], vmcsJSON: String? = nil, reproduceScript: String? = nil,
        vmcsDiff: String? = nil, o0SiblingID: String? = nil, decidingLine: String? = nil
    ) {
        self.serialLog = serialLog
        self.buildLogs = buildLogs
        self.vmcsJSON = vmcsJSON
        self.reproduceScript = reproduceScript
        self.vmcsDiff = vmcsDiff
        self.o0SiblingID = o0SiblingID
        self.decidingLine = decidingLine
    }
}

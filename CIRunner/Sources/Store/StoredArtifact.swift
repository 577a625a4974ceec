/// A file the store indexed: where it is (relative to the run folder), how big, its hash.
public struct StoredArtifact: Sendable, Codable, Equatable {
    public var runID: String
    /// Nil for run-level files (run.json, results.json, findings.json).
    public var cellID: String?
    /// `serial`, `emulator`, `verdict`, `vmcs`, `result`, `reproduce`, `build-log`, `run`,
    /// `results`, `findings` or `other`.
    public var kind: String
    /// Relative to `<store>/runs/<run>/`: `a1b2c3d4e5/serial.log`.
    public var path: String
    public var bytes: Int
    /// Lower-case hex SHA-256 of the content when indexed.
    public var sha256: String

    /// The kind a file's name says it is.
    public static func kind(ofFileNamed name: String) -> String {
        switch name {
        case RunLayout.serialLog: "serial"
        case RunLayout.emulatorLog: "emulator"
        case RunLayout.verdictFile: "verdict"
        case RunLayout.vmcsFile: "vmcs"
        case RunLayout.resultFile: "result"
        case RunLayout.reproduceScript: "reproduce"
        case RunLayout.runFile: "run"
        case RunLayout.resultsFile: "results"
        case RunLayout.findingsFile: "findings"
        default: name.hasPrefix("build-") && name.hasSuffix(".log") ? "build-log" : "other"
        }
    }
}

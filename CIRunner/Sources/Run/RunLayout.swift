/// Where a run's files live in the store. One place, so the scheduler that writes them,
/// the store that indexes them and the commands that fetch them agree.
///
///     <store>/nestci.db                      SQLite index (runs, cells, builds, artifacts)
///     <store>/builds/<cache key>/            build outputs, record.json, build.log (Builder)
///     <store>/disks/<hash>.img               GRUB disks, by content (GrubDiskBuilder)
///     <store>/runs/<run>/run.json            the run: matrix, trigger, host fingerprint, commits
///     <store>/runs/<run>/results.json        every CellResult (RunResults)
///     <store>/runs/<run>/findings.json       -O differential, regressions, fixes
///     <store>/runs/<run>/<cell>/serial.log   the serial console (capped: head + tail)
///     <store>/runs/<run>/<cell>/emulator.log the emulator's own output
///     <store>/runs/<run>/<cell>/verdict.json the deciding rule, line, text, timing
///     <store>/runs/<run>/<cell>/vmcs.json    VMCS dumps parsed from serial.log
///     <store>/runs/<run>/<cell>/result.json  its CellResult
///     <store>/runs/<run>/<cell>/reproduce.sh builds, disks, emulator config, boot, verdict (ReproduceScript)
///     <store>/runs/<run>/<cell>/verdict-rules.json  the rules reproduce.sh and `nestci judge` use
///     <store>/runs/<run>/<cell>/grub-<level>.cfg    each GRUB disk's grub.cfg
///     <store>/runs/<run>/<cell>/emulator-settings.json  how reproduce.sh starts the emulator
///     <store>/runs/<run>/<cell>/boot-files.json     the disks' files in the store (for fetch --bundle)
///     <store>/runs/<run>/<cell>/build-<level>-<component>.log  build log per level
public struct RunLayout: Sendable {
    public var store: String

    public init(store: String) { self.store = store }

    public var database: String { "\(store)/nestci.db" }
    public var runs: String { "\(store)/runs" }
    public func run(_ runID: String) -> String { "\(runs)/\(runID)" }
    public func cell(_ runID: String, _ cellID: String) -> String { "\(run(runID))/\(cellID)" }

    public static let runFile = "run.json"
    public static let resultsFile = "results.json"
    public static let findingsFile = "findings.json"
    public static let serialLog = "serial.log"
    public static let emulatorLog = "emulator.log"
    public static let verdictFile = "verdict.json"
    public static let vmcsFile = "vmcs.json"
    public static let resultFile = "result.json"
    public static let reproduceScript = "reproduce.sh"
    public static let rulesFile = ReproduceScript.rulesFile
    public static let bootFiles = "boot-files.json"
    public static let emulatorSettings = "emulator-settings.json"
    public static func grubConfig(level: Int) -> String { "grub-\(level).cfg" }
    public static func buildLog(level: Int, component: String) -> String { "build-\(level)-\(component).log" }
}

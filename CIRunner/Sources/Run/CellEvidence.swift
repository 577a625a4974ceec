import Foundation
import Hypervisor
import Matrix

/// Collects what a cell leaves behind and writes it into `runs/<run>/<cell>/`, each file
/// atomically: build logs per level, the last attempt's serial and emulator logs, the
/// verdict, the parsed VMCS dumps, `reproduce.sh` and `result.json`.
struct CellEvidence {
    let cell: Cell
    let folder: String
    private(set) var commits: [String: String] = [:]
    private var builds: [(level: Int, record: BuildRecord)] = []
    var buildRecords: [BuildRecord] { builds.map(\.record) }
    /// The GRUB disks made for this cell (reproduce.sh remakes them).
    var disks: [ReproduceDisk] = []
    /// What the host probe said about VMX on the cell's backend (for the rules file).
    var vmx: (supported: Bool, reason: String)?
    private var lastBoot: BootResult?
    private var lastVerdict: Verdict?
    private var artifacts: [String: String] = [:]
    /// Cap on the serial log kept (head and tail).
    var serialLogLimit = 64 << 20

    init(cell: Cell, folder: String) {
        self.cell = cell
        self.folder = folder
    }

    mutating func addBuild(_ record: BuildRecord, level: Int) {
        commits[record.component] = record.commit
        builds.append((level, record))
        let name = RunLayout.buildLog(level: level, component: record.component)
        if let log = record.logURL, let data = FileManager.default.contents(atPath: log.path) {
            if (try? AtomicFile.write(data, to: "\(folder)/\(name)")) != nil { artifacts["build-\(level)"] = name }
        }
    }

    mutating func recordBoot(_ boot: BootResult, verdict: Verdict) {
        lastBoot = boot
        lastVerdict = verdict
    }

    /// Writes the cell's files and returns `result` with their names.
    mutating func finish(_ result: CellResult) -> CellResult {
        var result = result
        if let boot = lastBoot {
            // A link, not a copy: the capture is already capped, and may be 64 MiB.
            if FileManager.default.fileExists(atPath: boot.serialLog) {
                let serial = "\(folder)/\(RunLayout.serialLog)"
                if (try? AtomicFile.link(boot.serialLog, to: serial)) != nil { artifacts["serial"] = RunLayout.serialLog }
                // Dumps first: line numbers refer to the log before the store's cap (the boot's
                // capture may already have cut the middle of a flood).
                if let dumps = try? VMCSDumpParser.parse(contentsOf: serial), !dumps.dumps.isEmpty {
                    if (try? dumps.write(to: URL(fileURLWithPath: "\(folder)/\(RunLayout.vmcsFile)"))) != nil { artifacts["vmcs"] = RunLayout.vmcsFile }
                }
                _ = try? SerialLogCapper.cap(path: serial, limit: serialLogLimit)
            }
            if let data = FileManager.default.contents(atPath: boot.emulatorLog) {
                if (try? AtomicFile.write(data, to: "\(folder)/\(RunLayout.emulatorLog)")) != nil {
                    artifacts["emulator"] = RunLayout.emulatorLog
                    _ = try? SerialLogCapper.cap(path: "\(folder)/\(RunLayout.emulatorLog)", limit: 4 << 20)
                }
            }
            if let verdict = lastVerdict, (try? AtomicFile.writeJSON(verdict, to: "\(folder)/\(RunLayout.verdictFile)")) != nil {
                artifacts["verdict"] = RunLayout.verdictFile
            }
        }
        writeReproductionFiles()
        if (try? AtomicFile.write(reproduceScript(), to: "\(folder)/\(RunLayout.reproduceScript)")) != nil {
            chmod("\(folder)/\(RunLayout.reproduceScript)", 0o755)
            artifacts["reproduce"] = RunLayout.reproduceScript
        }
        result.artifacts = artifacts
        result.artifacts["result"] = RunLayout.resultFile  // written by the store when it indexes the cell
        result.commits = commits
        return result
    }

    /// The reproducer: ``ReproduceScript`` over this cell's builds and disks.
    func reproduction() -> ReproduceScript {
        ReproduceScript(
            cell: cell, builds: Dictionary(builds.map { ($0.level, $0.record) }, uniquingKeysWith: { $1 }), disks: disks,
            hostHasVMX: vmx?.supported ?? false, vmxReason: vmx?.reason ?? "the cell did not reach its boot")
    }

    /// reproduce.sh's text.
    func reproduceScript() -> String { reproduction().render() }

    /// Beside reproduce.sh, what a fetch bundle needs to boot again: the rules, each disk's
    /// grub.cfg and the boot binaries' places in the store (copied into the bundle).
    private mutating func writeReproductionFiles() {
        let reproduction = reproduction()
        if (try? AtomicFile.write(reproduction.rules.encoded(), to: "\(folder)/\(RunLayout.rulesFile)")) != nil {
            artifacts["rules"] = RunLayout.rulesFile
        }
        for disk in disks where (try? AtomicFile.write(disk.spec.grubConfig, to: "\(folder)/\(RunLayout.grubConfig(level: disk.level))")) != nil {
            artifacts["grub-\(disk.level)"] = RunLayout.grubConfig(level: disk.level)
        }
        if let settings = reproduction.emulatorLaunch,
            (try? AtomicFile.writeJSON(settings, to: "\(folder)/\(RunLayout.emulatorSettings)")) != nil
        {
            artifacts["emulator-settings"] = RunLayout.emulatorSettings
        }
        let files = disks.flatMap { disk in
            disk.spec.files.sorted { $0.key < $1.key }.map { BootFile(level: disk.level, name: $0.key, path: $0.value) }
        }
        if !files.isEmpty, (try? AtomicFile.writeJSON(files, to: "\(folder)/\(RunLayout.bootFiles)")) != nil {
            artifacts["boot-files"] = RunLayout.bootFiles
        }
    }
}

/// A file on one of a cell's GRUB disks: where it is in the store (`boot-files.json`), so
/// a fetch bundle can carry it to `boot/<level>/<name>` for `reproduce.sh --from-bundle`.
struct BootFile: Sendable, Hashable, Codable {
    var level: Int
    /// Its name under `/boot` on the disk.
    var name: String
    /// Absolute path of the build output in the store.
    var path: String
}

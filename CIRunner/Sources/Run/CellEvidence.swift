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
    var grubConfigs: [(level: Int, text: String)] = []
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
        if (try? AtomicFile.write(reproduceScript(), to: "\(folder)/\(RunLayout.reproduceScript)")) != nil {
            chmod("\(folder)/\(RunLayout.reproduceScript)", 0o755)
            artifacts["reproduce"] = RunLayout.reproduceScript
        }
        result.artifacts = artifacts
        result.artifacts["result"] = RunLayout.resultFile  // written by the store when it indexes the cell
        result.commits = commits
        return result
    }

    /// The exact build commands per level (commit, flags) and the emulator command line.
    func reproduceScript() -> String {
        var lines = [
            "#!/bin/sh",
            "# nestci: reproduce cell \(cell.id) — \(cell.chain): \(cell.levelSummary), \(cell.backend.rawValue), smp \(cell.smp)",
            "# Usage: sh reproduce.sh [WORKDIR]   (builds every level from its exact commit, then boots)",
            "set -eu",
            "work=\"${1:-./nestci-repro-\(cell.id)}\"",
            "mkdir -p \"$work\"",
        ]
        for (level, record) in builds.sorted(by: { $0.level < $1.level }) {
            let dir = "\"$work/level\(level)-\(record.component)\""
            lines += [
                "",
                "# level \(level): \(record.component) \(record.opt.rawValue)/\(record.bits.rawValue) at \(record.commit) (\(record.revision))",
                "# {opt} = \(record.optFlags)" + (record.workarounds.isEmpty ? "" : " — workarounds: " + record.workarounds.map { "\($0.flags.joined(separator: " ")): \($0.reason)" }.joined(separator: "; ")),
                "[ -d \(dir) ] || git clone -q \(ShellQuote.quote(record.repository)) \(dir)",
                "git -C \(dir) checkout -q --detach \(record.commit)",
                "(cd \(dir) && \(record.command))",
            ]
        }
        for (level, text) in grubConfigs.sorted(by: { $0.level < $1.level }) {
            lines += ["", "# grub.cfg of disk \(level) (nestci built the disk with grub-mkimage + mtools; see its README):"]
            lines += text.split(separator: "\n", omittingEmptySubsequences: false).map { "#   \($0)" }
        }
        if let boot = lastBoot {
            lines += ["", "# boot (disks from the nestci store; base images are attached read-only/snapshot):", boot.commandLine]
        } else {
            lines += ["", "# the cell did not boot (\(cell.id)): see result.json"]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

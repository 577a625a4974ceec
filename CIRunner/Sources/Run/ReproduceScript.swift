import Foundation
import Hypervisor
import Matrix

/// One GRUB disk of a cell as the run made it: its spec (grub.cfg, names under /boot) and,
/// per name, the build output it holds, so a reproducer can fill it from a fresh build.
public struct ReproduceDisk: Sendable, Hashable {
    /// Chain level, = disk index.
    public var level: Int
    public var spec: GrubDiskSpec
    /// Name under `/boot` → the output's logical name in the level's build.
    public var outputs: [String: String]

    public init(level: Int, spec: GrubDiskSpec, outputs: [String: String]) {
        self.level = level
        self.spec = spec
        self.outputs = outputs
    }
}

/// `reproduce.sh`: a POSIX sh script that reproduces one cell on another machine with
/// Debian's packages and access to the repositories, and never writes outside its WORKDIR.
///
/// It builds every level from its exact commit with the exact command (or takes
/// `--with-build LEVEL=DIR`, or the binaries of a fetch bundle with `--from-bundle`), makes
/// the GRUB disks with grub-mkimage and mtools (``GrubDiskScript``: the steps of
/// ``GrubDiskBuilder``, no nestci needed), writes the emulator's configuration from the
/// same function a real boot uses (``Emulators/configuration(for:in:)``), boots with the
/// cell's timeout and prints the verdict: through `nestci judge` (the run's own rules and
/// state machine) when nestci is on PATH, else approximately with `grep -P`.
///
/// Every value from the matrix, a repository or the host is quoted with ``ShellQuote``:
/// words with ``ShellQuote/quote(_:)``, comment text with ``ShellQuote/comment(_:)``.
/// Folder names use level numbers only, never component names.
public struct ReproduceScript: Sendable {
    public var cell: Cell
    /// Build record per built level.
    public var builds: [Int: BuildRecord]
    /// GRUB disks per level that has one.
    public var disks: [ReproduceDisk]
    public var hostHasVMX: Bool
    public var vmxReason: String

    public init(cell: Cell, builds: [Int: BuildRecord], disks: [ReproduceDisk], hostHasVMX: Bool, vmxReason: String) {
        self.cell = cell
        self.builds = builds
        self.disks = disks
        self.hostHasVMX = hostHasVMX
        self.vmxReason = vmxReason
    }

    /// The file beside reproduce.sh holding the rules (`verdict.json` is the verdict).
    public static let rulesFile = "verdict-rules.json"
    /// Where a fetch bundle puts level N's boot binaries, relative to the cell folder.
    public static func bundleFolder(level: Int) -> String { "boot/\(level)" }

    public var rules: JudgeRules {
        JudgeRules(
            cell: cell.id, backend: cell.backend, smp: cell.smp, bootTimeoutSeconds: cell.bootTimeoutSeconds,
            needsVMX: cell.needsVMX, hostHasVMX: hostHasVMX, vmxReason: vmxReason, rules: cell.verdict)
    }

    /// The emulator settings reproduce.sh boots with (run from WORKDIR), for a bundle.
    public var emulatorLaunch: EmulatorLaunch? {
        let plan = cell.bootPlan(disks: bootDisks)
        guard let configuration = try? Emulators.configuration(for: plan, in: ".") else { return nil }
        let process = configuration.invocation.process
        return EmulatorLaunch(
            backend: plan.backend, smp: plan.smp, memoryMiB: plan.memoryMiB, cpuModel: plan.cpuModel, machine: plan.machine, extraArguments: plan.extraArguments,
            environment: process.environment, argv: [process.executable] + process.arguments,
            files: Dictionary(configuration.files.map { (($0.path as NSString).lastPathComponent, $0.text) }, uniquingKeysWith: { $1 }))
    }

    /// The emulator's disks in WORKDIR: `disk<N>/disk.img` for built levels, the image's
    /// own path for prebuilt images (attached behind an overlay, never written).
    var bootDisks: [BootDisk] {
        cell.levels.enumerated().compactMap { index, level in
            if let image = level.imagePath { return BootDisk(path: image, format: image.hasSuffix(".qcow2") ? .qcow2 : .raw) }
            return disks.contains { $0.level == index } ? BootDisk(path: "disk\(index)/disk.img") : nil
        }
    }

    private func q(_ word: String) -> String { ShellQuote.quote(word) }
    private func c(_ text: String) -> String { ShellQuote.comment(text) }

    /// The script text.
    public func render() -> String {
        var lines = header()
        for (index, level) in cell.levels.enumerated() { lines += ["", ""] + levelLines(index, level) }
        for disk in disks.sorted(by: { $0.level < $1.level }) { lines += ["", ""] + diskLines(disk) }
        lines += ["", ""] + bootLines()
        return lines.joined(separator: "\n") + "\n"
    }

    private func header() -> [String] {
        let count = cell.levels.count
        let withBuilds = (0..<count).map { "with_build_\($0)=" }.joined(separator: " ")
        return [
            "#!/bin/sh",
            "# nestci: reproduce cell \(c(cell.id)) — chain \(c(cell.chain)): \(c(cell.levelSummary)), \(cell.backend.rawValue), smp \(cell.smp)",
            "# usage: sh reproduce.sh [--with-build LEVEL=DIR]... [--from-bundle] [--gdb PORT] [WORKDIR]",
            "#   Builds every level from its exact commit in WORKDIR (default ./nestci-repro-\(cell.id)), makes the GRUB",
            "#   disks with grub-mkimage and mtools, writes the emulator configuration into WORKDIR, boots with the",
            "#   cell's timeout (\(cell.bootTimeoutSeconds) s) and prints the verdict: with `nestci judge` and the run's rules when",
            "#   nestci is on PATH, else approximately with grep -P.",
            "#   --with-build LEVEL=DIR  boot the outputs of your own build of level LEVEL (0 is the first) in DIR",
            "#   --from-bundle           boot the binaries of a fetch bundle (boot/LEVEL/ beside this script): no clone, no build",
            "#   --gdb PORT              qemu: -gdb tcp::PORT -S (waits for `target remote :PORT`), no deadline",
            "# Needs Debian's git, coreutils, grep, grub-pc-bin, mtools and the emulator (qemu-system-x86, or bochs",
            "# bochsbios vgabios bochs-sdl), plus each level's own build dependencies. Writes only into WORKDIR,",
            "# and refuses a WORKDIR inside a nestci store.",
            "set -eu",
            "here=$(CDPATH= cd -- \"$(dirname -- \"$0\")\" && pwd)",
            "die() { echo \"reproduce.sh: $*\" >&2; exit 64; }",
            "gdb_port= from_bundle= work= \(withBuilds)",
            "while [ $# -gt 0 ]; do",
            "    case $1 in",
            "    --gdb) [ $# -ge 2 ] || die \"--gdb needs a PORT\"; gdb_port=$2; shift 2 ;;",
            "    --with-build)",
            "        [ $# -ge 2 ] || die \"--with-build needs LEVEL=DIR\"",
            "        level=${2%%=*} dir=${2#*=}",
            "        case $level in ''|*[!0-9]*) die \"--with-build $2: LEVEL must be a level number, 0...\(count - 1)\" ;; esac",
            "        [ \"$level\" -lt \(count) ] || die \"--with-build $2: this chain has levels 0...\(count - 1)\"",
            "        [ \"$dir\" != \"$2\" ] && [ -d \"$dir\" ] || die \"--with-build $2: DIR must be an existing folder\"",
            "        dir=$(CDPATH= cd -- \"$dir\" && pwd)",
            "        eval \"with_build_$level=\\$dir\"",
            "        shift 2 ;;",
            "    --from-bundle) from_bundle=1; shift ;;",
            "    -h|--help) sed -n '2,13p' \"$0\"; exit 0 ;;",
            "    -*) die \"unknown option $1 (see --help)\" ;;",
            "    *) [ -z \"$work\" ] || die \"give one WORKDIR\"; work=$1; shift ;;",
            "    esac",
            "done",
            "case $gdb_port in *[!0-9]*) die \"--gdb PORT must be a number\" ;; esac",
        ] + (cell.backend == .bochs ? [
            "[ -z \"$gdb_port\" ] || die \"--gdb: Debian's bochs is built with its own debugger (--enable-debugger), which leaves out the gdb stub (a gdbstub: line gives 'Bochs is not compiled with gdbstub support'). Run Bochs' debugger instead: this script, then cd WORKDIR && bochs-bin -q -f bochsrc (without -rc); or use a qemu backend\"",
        ] : []) + [
            "work=${work:-./nestci-repro-\(cell.id)}",
            "case $work in /*) ;; *) work=$PWD/$work ;; esac",
            "# Never into a store (checked before anything is created): its evidence must stay as the run left it.",
            "d=$work",
            "while :; do",
            "    if [ -d \"$d\" ]; then",
            "        p=$(CDPATH= cd -- \"$d\" && pwd -P)",
            "        [ ! -f \"$d/nestci.db\" ] && [ ! -f \"$p/nestci.db\" ] || die \"WORKDIR $work is inside the nestci store $d; pass a WORKDIR outside it\"",
            "    fi",
            "    [ \"$d\" != / ] && [ \"$d\" != . ] || break",
            "    d=$(dirname -- \"$d\")",
            "done",
            "mkdir -p -- \"$work\"",
            "work=$(CDPATH= cd -- \"$work\" && pwd)",
            "echo reproduce.sh: cell \(q(cell.id)) \"in $work\"",
        ]
    }

    private func levelLines(_ index: Int, _ level: PlannedLevel) -> [String] {
        guard let record = builds[index] else {
            if let image = level.imagePath { return ["# level \(index): \(c(level.component)), the prebuilt image \(c(image)) (attached read-only)"] }
            return ["# level \(index): \(c(level.component)) was not built in this run (an earlier level failed, or the cell did not get that far)"]
        }
        let src = "src\(index)"
        var lines = [
            "# level \(index): \(c(record.component)) \(record.opt.rawValue)/\(record.bits.rawValue) at \(c(record.commit)) (revision \(c(record.revision)))",
            "# {opt} = \(c(record.optFlags))",
        ]
        for workaround in record.workarounds {
            lines.append("#   workaround \(c(workaround.flags.joined(separator: " "))): \(c(workaround.reason))")
        }
        if record.status != .passed {
            lines.append("# nestci's build of this level failed: \(c(record.summary)); the script stops here too unless --with-build gives one")
        }
        lines += [
            "\(src)=$work/level\(index)",
            "if [ -n \"$with_build_\(index)\" ]; then",
            "    \(src)=$with_build_\(index)",
            "    echo \"level \(index): your build in $\(src)\"",
            "elif [ -n \"$from_bundle\" ]; then",
            "    \(src)=$here/\(Self.bundleFolder(level: index))",
            "    echo \"level \(index): the bundle's binaries in $\(src)\"",
            "else",
            "    [ -d \"$\(src)/.git\" ] || git clone -q -- \(q(record.repository)) \"$\(src)\"",
            "    git -C \"$\(src)\" checkout -q --detach \(q(record.commit))",
            "    echo \"level \(index): building\" \(q(record.component)) at \(q(String(record.commit.prefix(12)))) \"in $\(src)\"",
        ] + variantBuildLines(index, record, src) + [
            "fi",
        ]
        return lines
    }

    /// The build command, run as the ad-hoc variant ran it: its environment, and its PATH
    /// prefix (an -O triage compiler wrapper) recreated in `$work/wrap<N>` from the files
    /// the build used, first on PATH.
    private func variantBuildLines(_ index: Int, _ record: BuildRecord, _ src: String) -> [String] {
        let build = "(cd \"$\(src)\" && /bin/sh -c \(q(record.command)))"
        guard let variant = record.variant, variant.pathPrefix != nil || !variant.environment.isEmpty else { return ["    " + build] }
        var lines: [String] = []
        var assignments = variant.environment.sorted { $0.key < $1.key }.filter { ShellQuote.isSafeBare($0.key) && $0.key != "PATH" }.map { "\($0.key)=\(q($0.value))" }
        if let prefix = variant.pathPrefix {
            let wrap = "$work/wrap\(index)"
            lines.append("    # the build ran with \(c(prefix)) first on PATH (nestci's -O triage compiler wrapper); recreated here")
            lines.append("    rm -rf -- \"\(wrap)\" \"\(wrap).log\" && mkdir -p -- \"\(wrap)\"")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: prefix)) ?? []).sorted()
            for name in names where ShellQuote.isSafeBare(name) && !name.contains("/") {
                let path = (prefix as NSString).appendingPathComponent(name)
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                lines.append("    printf '%s' \(q(String(decoding: data, as: UTF8.self))) > \"\(wrap)/\(name)\"")
                if FileManager.default.isExecutableFile(atPath: path) { lines.append("    chmod +x \"\(wrap)/\(name)\"") }
            }
            if names.isEmpty { lines.append("    echo \"reproduce.sh: the wrapper folder \"\(q(prefix))\" was gone when this script was written\" >&2") }
            assignments.append("PATH=\"\(wrap):$PATH\"")
        }
        lines.append("    (cd \"$\(src)\" && env \(assignments.joined(separator: " ")) /bin/sh -c \(q(record.command)))")
        return lines
    }

    private func diskLines(_ disk: ReproduceDisk) -> [String] {
        let index = disk.level
        let folder = "$work/disk\(index)"
        var lines = [
            "# disk \(index): GRUB disk of level \(index) (grub.cfg below, the same as the run's)",
            "rm -rf \"\(folder)\" && mkdir -p \"\(folder)/files\"",
        ]
        let record = builds[index]
        for name in disk.spec.files.keys.sorted() {
            let output = disk.outputs[name] ?? name
            let built = record?.outputs.first { $0.name == output }
            let source = built?.source ?? name
            lines += [
                "if [ -z \"$with_build_\(index)\" ] && [ -n \"$from_bundle\" ]; then f=$src\(index)/\(q(name)); else f=$src\(index)/\(q(source)); fi",
                "[ -f \"$f\" ] || die \"level \(index): no file $f for\" \(q("/boot/\(name) (output \(output)); did the build make it?"))",
            ]
            if (name as NSString).deletingLastPathComponent != "" {
                lines.append("mkdir -p \"\(folder)/files/\"\(q((name as NSString).deletingLastPathComponent))")
            }
            lines.append("cp -- \"$f\" \"\(folder)/files/\"\(q(name))")
            if let built {
                let same = q("level \(index): \(name) has the same bytes as the run's build")
                let differs = q("level \(index): \(name) differs from the run's build (sha256 \(built.sha256.prefix(16))…)")
                lines.append("[ \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" = \(q(built.sha256)) ] && echo \(same) || echo \(differs)")
            }
        }
        let tag = "repro-\(cell.id)-disk\(index)"
        lines.append("(cd \"\(folder)\" && {")
        lines += GrubDiskScript.lines(disk.spec, tag: tag).map { "    " + $0 }
        lines.append("})")
        lines.append("echo \"disk \(index): \(folder)/disk.img\"")
        return lines
    }

    private func bootLines() -> [String] {
        guard !bootDisks.isEmpty else {
            // A level failed to build (or the cell stopped earlier): no disk was made, so
            // there is nothing to boot; the builds above show the failure.
            return [
                "# boot: the run made no disk for this cell (a build failed or the cell stopped before its disks; see result.json)",
                "echo 'reproduce.sh: the run made no disk for this cell, so there is nothing to boot; see result.json' >&2",
                "exit 1",
            ]
        }
        let plan = cell.bootPlan(disks: bootDisks)
        let configuration: EmulatorConfiguration
        do {
            configuration = try Emulators.configuration(for: plan, in: ".")
        } catch {
            return ["# boot: this cell's emulator configuration cannot be written: \(c("\(error)"))", "exit 1"]
        }
        let process = configuration.invocation.process
        let environment = process.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let argv = (environment.isEmpty ? [] : ["env"] + environment) + [process.executable] + process.arguments
        var lines = [
            "# boot: the emulator configuration a run writes (Emulators.configuration), with this WORKDIR's disks",
            "cd \"$work\"",
            "rm -f serial.txt emulator.log bochs.log",
        ]
        for file in configuration.files {
            lines.append(ShellQuote.printfLines(file.text) + " > " + q((file.path as NSString).lastPathComponent))
        }
        lines.append(ShellQuote.printfLines(rules.encoded()) + " > \(Self.rulesFile)")
        lines.append("deadline=\(cell.bootTimeoutSeconds)")
        lines.append("set -- \(ShellQuote.join(argv))")
        // Bochs refused --gdb before anything was built (see the header).
        if cell.backend != .bochs {
            lines += [
                "if [ -n \"$gdb_port\" ]; then",
                "    set -- \"$@\" -gdb \"tcp::$gdb_port\" -S",
                "    deadline=0",
                "    echo \"qemu waits for gdb: target remote :$gdb_port (no deadline while you debug)\"",
                "fi",
            ]
        }
        lines += [
            "echo \"booting (\(cell.backend.rawValue), timeout ${deadline}s): $*\"",
            "if command -v nestci >/dev/null 2>&1; then",
            "    set +e",
            "    nestci judge serial.txt --rules \(Self.rulesFile) --timeout \"$deadline\" -- \"$@\"",
            "    status=$?",
            "    exit $status",
            "fi",
            "echo \"nestci is not on PATH: judging with grep -P (approximate: no per-line order, no GRUB-error or emulator-exit rules)\"",
        ]
        lines += grepJudge()
        return lines
    }

    /// The fallback judge: the rules' markers with `grep -P` (PCRE, close to the ICU
    /// syntax of the rules) while the emulator runs.
    private func grepJudge() -> [String] {
        let rules = cell.verdict
        let pattern = { (marker: Marker) in "-e " + q(marker.regex) }
        var lines = ["judge_grep() {"]
        if !rules.fail.isEmpty {
            lines.append("    if grep -aqP \(rules.fail.map(pattern).joined(separator: " ")) serial.txt 2>/dev/null; then verdict=\"FAIL (a fail marker)\"; return 0; fi")
        }
        if !rules.unsupported.isEmpty {
            let outcome = hostHasVMX ? "FAIL (an unsupported marker, on a backend that offers VMX)" : "SKIP (the guest says the CPU lacks VMX)"
            lines.append("    if grep -aqP \(rules.unsupported.map(pattern).joined(separator: " ")) serial.txt 2>/dev/null; then verdict=\(q(outcome)); return 0; fi")
        }
        if rules.pass.isEmpty {
            lines.append("    return 1")
        } else {
            let checks = rules.pass.map { rule -> String in
                if let minimum = rule.minPerCPU {
                    let total = minimum * max(1, rule.cpus ?? cell.smp)
                    return "[ \"$(grep -acP -e \(q(rule.marker.regex)) serial.txt 2>/dev/null)\" -ge \(total) ]"
                }
                return "grep -aqP -e \(q(rule.marker.regex)) serial.txt 2>/dev/null"
            }
            lines.append("    if \(checks.joined(separator: " && ")); then verdict=\"PASS (every pass marker seen)\"; return 0; fi")
            lines.append("    return 1")
        }
        lines += [
            "}",
            "alive() { [ -r \"/proc/$1/stat\" ] && [ \"$(cut -d' ' -f3 \"/proc/$1/stat\")\" != Z ]; }",
            "\"$@\" < /dev/null > emulator.log 2>&1 &",
            "emu=$!",
            "trap 'kill \"$emu\" 2>/dev/null || :' EXIT INT TERM",
            "start=$(date +%s) verdict=",
            "while :; do",
            "    judge_grep && break",
            "    if ! alive \"$emu\"; then judge_grep || verdict=\"FAIL or INFRA (the emulator ended without a verdict; see emulator.log)\"; break; fi",
            "    if [ \"$deadline\" -gt 0 ] && [ $(($(date +%s) - start)) -ge \"$deadline\" ]; then verdict=\"TIMEOUT (no verdict within ${deadline}s)\"; break; fi",
            "    sleep 1",
            "done",
            "kill \"$emu\" 2>/dev/null || :",
            "sleep 2",
            "kill -9 \"$emu\" 2>/dev/null || :",
            "wait \"$emu\" 2>/dev/null || :",
            "echo \"verdict (grep, approximate): $verdict\"",
            "case $verdict in PASS* | SKIP*) exit 0 ;; *) exit 1 ;; esac",
        ]
        return lines
    }
}

/// `emulator-settings.json`: how reproduce.sh starts the emulator, from WORKDIR (disks
/// `disk<N>/disk.img`): the plan's settings, the environment, the argv and the generated
/// configuration files (bochsrc), all from ``Emulators/configuration(for:in:)``.
public struct EmulatorLaunch: Sendable, Hashable, Codable {
    public var backend: Backend
    public var smp: Int
    public var memoryMiB: Int
    public var cpuModel: String?
    public var machine: String?
    public var extraArguments: [String]
    public var environment: [String: String]
    public var argv: [String]
    /// File name → text.
    public var files: [String: String]
}

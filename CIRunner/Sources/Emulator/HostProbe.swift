import Foundation
import Hypervisor
import Matrix

#if canImport(Glibc)
    import Glibc
#endif

/// Looks at the host: emulator binaries and versions, /dev/kvm, VMX in the CPU flags,
/// nested KVM. Everything it runs is quick (`--version`), so each run probes afresh: the
/// service lives for weeks, and an emulator upgraded or removed in between must show in
/// the next run's fingerprint and availability, not the one from the service's start.
public enum HostProbe {
    /// Paths the probe reads; tests point them elsewhere.
    public struct Sources: Sendable {
        public var qemu = "qemu-system-x86_64"
        public var bochs = "bochs-bin"
        public var bochsBIOS = "/usr/share/bochs/BIOS-bochs-latest"
        public var vgaBIOS = "/usr/share/vgabios/vgabios.bin"
        /// Where bochs-sdl puts the SDL2 GUI plugin (`libbx_sdl2_gui.so.0.0.0` in Debian 12).
        public var bochsPluginDirectory = "/usr/lib/x86_64-linux-gnu/bochs/plugins"
        public var kvmDevice = "/dev/kvm"
        public var cpuinfo = "/proc/cpuinfo"
        public var kvmNestedParameters = ["/sys/module/kvm_intel/parameters/nested", "/sys/module/kvm_amd/parameters/nested"]
        public var bochsCPUModel = BochsEmulator.defaultCPUModel
        public init() {}
    }

    /// The host's fingerprint as it is now (probed on every call; a run calls it once).
    public static func fingerprint() async -> HostFingerprint {
        await probe(Sources())
    }

    /// Probes now, reading `sources`.
    public static func probe(_ sources: Sources) async -> HostFingerprint {
        await probeChecked(sources).fingerprint
    }

    /// Probes now; `interrupted` when a tool's `--version` was killed or timed out, so its
    /// "not found" may be false: such a fingerprint must not be kept for other tasks (a task
    /// killed with its node mid-probe would otherwise leave "qemu not found" for the run).
    public static func probeChecked(_ sources: Sources = Sources()) async -> (fingerprint: HostFingerprint, interrupted: Bool) {
        // A probe reports what it finds: an unreadable file means "not there", and the
        // backends' reasons below say what that costs (no vmx flag, no nested KVM, ...).
        let cpuinfo = (try? String(contentsOfFile: sources.cpuinfo, encoding: .utf8)) ?? ""
        let flags = Set(Self.field("flags", in: cpuinfo)?.split(separator: " ").map(String.init) ?? [])
        let kvmPresent = FileManager.default.fileExists(atPath: sources.kvmDevice)
        let kvmFD = open(sources.kvmDevice, O_RDWR | O_CLOEXEC)
        let kvmUsable = kvmFD >= 0
        let kvmError = kvmUsable ? "" : String(cString: strerror(errno))
        if kvmFD >= 0 { close(kvmFD) }
        let nested = sources.kvmNestedParameters.lazy.compactMap {
            try? String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }.first

        var interrupted = false
        let qemuOutput = await Self.output(sources.qemu, ["--version"], interrupted: &interrupted)
        let qemuVersion = qemuOutput.flatMap { $0.split(separator: "\n").first.map(String.init) }
        let bochsHelp = await Self.output(sources.bochs, ["--help", "cpu"], interrupted: &interrupted)
        let bochsVersion = bochsHelp.flatMap { text in
            text.split(separator: "\n").first { $0.contains("Bochs x86 Emulator") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let bochsModels = bochsHelp.map(Self.bochsModels) ?? []
        let grubVersion = await Self.output("grub-mkimage", ["--version"], interrupted: &interrupted).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }

        var backends: [String: BackendCapability] = [:]
        // TCG: qemu is enough; it never offers VMX.
        backends[Backend.qemuTCG.rawValue] = BackendCapability(
            available: qemuVersion != nil,
            reason: qemuVersion != nil ? "qemu found" : "\(sources.qemu) not found; install qemu-system-x86",
            canRunVMX: false, vmxReason: "qemu TCG does not emulate VMX; use bochs or qemu-kvm on a host with nested KVM")

        let nestedOn = nested.map { ["Y", "y", "1"].contains($0) } ?? false
        let kvmAvailable = qemuVersion != nil && kvmUsable
        let kvmReason =
            qemuVersion == nil ? "\(sources.qemu) not found; install qemu-system-x86"
            : !kvmPresent ? "\(sources.kvmDevice) does not exist (no KVM on this host)"
            : !kvmUsable ? "\(sources.kvmDevice) cannot be opened read-write (\(kvmError)); add the user to the kvm group"
            : "qemu and \(sources.kvmDevice) usable"
        let kvmVMXReason =
            !kvmAvailable ? kvmReason
            : !flags.contains("vmx") ? "the host CPU shows no vmx flag in /proc/cpuinfo, so KVM guests get no VMX"
            : !nestedOn ? "kvm_intel nested is \(nested ?? "not loaded"); enable it (options kvm_intel nested=1)"
            : "KVM with vmx and nested=\(nested ?? "")"
        backends[Backend.qemuKVM.rawValue] = BackendCapability(
            available: kvmAvailable, reason: kvmReason,
            canRunVMX: kvmAvailable && flags.contains("vmx") && nestedOn, vmxReason: kvmVMXReason)

        var missing = [sources.bochsBIOS, sources.vgaBIOS].filter { !FileManager.default.fileExists(atPath: $0) }
        // No plugin folder: the same as no SDL2 plugin, reported below.
        let plugins = (try? FileManager.default.contentsOfDirectory(atPath: sources.bochsPluginDirectory)) ?? []
        if !plugins.contains(where: { $0.hasPrefix("libbx_sdl2") }) { missing.append("the SDL2 plugin in \(sources.bochsPluginDirectory)") }
        let bochsAvailable = bochsVersion != nil && missing.isEmpty
        let bochsReason =
            bochsVersion == nil ? "\(sources.bochs) not found; install bochs, bochsbios, vgabios and bochs-sdl"
            : !missing.isEmpty ? "missing \(missing.joined(separator: ", ")); install bochsbios, vgabios and bochs-sdl"
            : "Bochs found"
        let hasModel = bochsModels.contains(sources.bochsCPUModel)
        backends[Backend.bochs.rawValue] = BackendCapability(
            available: bochsAvailable, reason: bochsReason, canRunVMX: bochsAvailable && hasModel,
            vmxReason: !bochsAvailable ? bochsReason
                : hasModel ? "Bochs emulates VMX with \(sources.bochsCPUModel)"
                : "this Bochs has no \(sources.bochsCPUModel) CPU model (has: \(bochsModels.joined(separator: " ")))")

        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let fingerprint = HostFingerprint(
            hostname: ProcessInfo.processInfo.hostName, kernel: release,
            cpuModel: Self.field("model name", in: cpuinfo) ?? "unknown",
            cpuVMX: flags.contains("vmx"), cpuSVM: flags.contains("svm"), kvmPresent: kvmPresent, kvmUsable: kvmUsable,
            kvmNested: nested, qemuVersion: qemuVersion, bochsVersion: bochsVersion, bochsCPUModels: bochsModels,
            grubVersion: grubVersion, backends: backends)
        return (fingerprint, interrupted)
    }

    /// The value of the first `key : value` line of /proc/cpuinfo.
    static func field(_ key: String, in cpuinfo: String) -> String? {
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == key {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// Model names from `bochs-bin --help cpu`, which lists them one per line after a
    /// "Supported CPU models:" header, each indented.
    static func bochsModels(_ help: String) -> [String] {
        var models: [String] = []
        var inList = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("Supported CPU models") {
                inList = true
                continue
            }
            guard inList else { continue }
            let word = line.trimmingCharacters(in: .whitespaces)
            if word.isEmpty {
                if models.isEmpty { continue }
                break
            }
            models.append(word)
        }
        return models
    }

    /// Output of a short command, nil when it cannot run.
    private static func output(_ tool: String, _ arguments: [String], interrupted: inout Bool) async -> String? {
        // A tool that cannot start is simply absent; the backend's reason names it.
        let result: ProcessResult
        do {
            result = try await SupervisedProcess.run(ProcessSpec(tool, arguments, timeout: .seconds(20), outputLimit: 256 << 10))
        } catch {
            if error is CancellationError || Task.isCancelled { interrupted = true }
            return nil
        }
        if case .signalled = result.termination { interrupted = true }
        if result.timedOut || result.stoppedByRequest { interrupted = true }
        return result.output
    }
}

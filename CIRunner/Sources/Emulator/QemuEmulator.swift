import Foundation
import Hypervisor
import Matrix

/// qemu-system-x86_64 with KVM or TCG (i386 chains run on it too).
///
/// Headless and hermetic: `-nodefaults` (no VGA, no NIC, no default serial), COM1 to an
/// unbuffered file, `-no-reboot` so a triple fault ends the process instead of looping,
/// and every disk behind a per-drive `snapshot=on` overlay so base images stay untouched.
public struct QemuEmulator: Emulator {
    public let backend: Backend
    public var binary: String

    public init(backend: Backend, binary: String = "qemu-system-x86_64") {
        precondition(backend != .bochs, "QemuEmulator runs qemu-kvm or qemu-tcg")
        self.backend = backend
        self.binary = binary
    }

    /// `Haswell,vmx=yes` under KVM (nested VMX on a lab host). Under TCG, which has no
    /// VMX at all, an Intel model all the same: `qemu64` and `max` say AuthenticAMD, and
    /// an Intel-only hypervisor then takes its SVM path and halts on a line about nested
    /// paging instead of saying it lacks VT. Westmere is the newest Intel model qemu 7.2's
    /// TCG runs without "TCG doesn't support requested feature" warnings (SandyBridge and
    /// later ask for x2apic and tsc-deadline; Nehalem, Penryn, Conroe, core2duo are clean
    /// too). A matrix picks another with `emulator.qemu-tcg.cpu`.
    public static func defaultCPU(for backend: Backend) -> String {
        backend == .qemuKVM ? "Haswell,vmx=yes" : "Westmere"
    }

    /// The PC machine type qemu boots unless a matrix says otherwise.
    public static let defaultMachine = "pc"

    /// IDE offers four positions (primary/secondary × master/slave).
    public static let maxDisks = 4

    public func prepare(_ plan: BootPlan, in folder: String) throws -> EmulatorInvocation {
        guard !plan.disks.isEmpty, plan.disks.count <= Self.maxDisks else {
            throw EmulatorError(.tooManyDisks, "qemu: a chain needs 1...\(Self.maxDisks) IDE disks, this one has \(plan.disks.count); shorten the chain")
        }
        let serial = Emulators.path(folder, "serial.txt")
        guard !serial.contains(",") else {
            throw EmulatorError(.badPath, "qemu: the cell folder \(folder) contains a comma, which qemu's option syntax cannot take; use another artifact store path")
        }
        var arguments = [
            "-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
            "-machine", plan.machine ?? Self.defaultMachine, "-accel", backend == .qemuKVM ? "kvm" : "tcg",
            "-cpu", plan.cpuModel ?? Self.defaultCPU(for: backend),
            "-smp", String(plan.smp), "-m", String(plan.memoryMiB),
            "-serial", "file:\(serial)",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]
        for (index, disk) in plan.disks.enumerated() {
            // A doubled comma is how a literal comma is written inside -drive.
            let path = disk.path.replacingOccurrences(of: ",", with: ",,")
            arguments += ["-drive", "file=\(path),format=\(disk.format.rawValue),if=ide,index=\(index),media=disk,snapshot=on"]
        }
        arguments += plan.extraArguments
        // snapshot=on overlays are temp files under TMPDIR: keep them in the cell folder
        // (qemu unlinks them at once, so nothing is left behind either way).
        let spec = ProcessSpec(binary, arguments, environment: ["TMPDIR": folder], workingDirectory: folder, gracePeriod: .seconds(2), outputLimit: 1 << 20)
        return EmulatorInvocation(process: spec, serialLog: serial, emulatorLog: Emulators.path(folder, "emulator.log"))
    }
}

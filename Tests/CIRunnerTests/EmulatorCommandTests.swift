import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

@Suite("Emulator command lines")
struct EmulatorCommandTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-emulator-\(UUID().uuidString)").path

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    @Test("qemu-tcg: headless, COM1 to a file, no reboot, debug-exit, disks in chain order behind snapshots")
    func qemuTCG() throws {
        let plan = BootPlan(backend: .qemuTCG, disks: [BootDisk(path: "/s/a.img"), BootDisk(path: "/s/b,c.qcow2", format: .qcow2)], smp: 2)
        let invocation = try QemuEmulator(backend: .qemuTCG).prepare(plan, in: folder)
        let arguments = invocation.process.arguments
        func value(after flag: String) -> String? { arguments.firstIndex(of: flag).map { arguments[$0 + 1] } }
        #expect(invocation.process.executable == "qemu-system-x86_64")
        #expect(arguments.contains("-nodefaults") && arguments.contains("-no-reboot"))
        #expect(value(after: "-display") == "none" && value(after: "-monitor") == "none")
        #expect(value(after: "-accel") == "tcg" && value(after: "-cpu") == "Westmere")
        #expect(value(after: "-smp") == "2" && value(after: "-m") == "1024")
        #expect(value(after: "-serial") == "file:\(folder)/serial.txt")
        #expect(value(after: "-device") == "isa-debug-exit,iobase=0xf4,iosize=0x04")
        let drives = arguments.indices.filter { arguments[$0] == "-drive" }.map { arguments[$0 + 1] }
        #expect(drives == [
            "file=/s/a.img,format=raw,if=ide,index=0,media=disk,snapshot=on",
            "file=/s/b,,c.qcow2,format=qcow2,if=ide,index=1,media=disk,snapshot=on",
        ])
        #expect(invocation.process.environment["TMPDIR"] == folder)
    }

    @Test("qemu-kvm defaults to a VMX-capable CPU model; a plan's model wins")
    func qemuKVM() throws {
        let kvm = try QemuEmulator(backend: .qemuKVM).prepare(BootPlan(backend: .qemuKVM, disks: [BootDisk(path: "/a.img")]), in: folder)
        #expect(kvm.process.arguments.contains("Haswell,vmx=yes") && kvm.process.arguments.contains("kvm"))
        let custom = try QemuEmulator(backend: .qemuKVM).prepare(BootPlan(backend: .qemuKVM, disks: [BootDisk(path: "/a.img")], cpuModel: "host,-arch-capabilities"), in: folder)
        #expect(custom.process.arguments.contains("host,-arch-capabilities"))
    }

    @Test("too many disks is an error that says to shorten the chain")
    func tooManyDisks() {
        let plan = BootPlan(backend: .qemuTCG, disks: (0..<5).map { BootDisk(path: "/d\($0).img") })
        #expect(throws: EmulatorError.self) { try QemuEmulator(backend: .qemuTCG).prepare(plan, in: folder) }
        #expect(throws: EmulatorError.self) { try BochsEmulator().prepare(BootPlan(backend: .bochs, disks: plan.disks), in: folder) }
    }

    @Test("Bochs: DESIGN.md's recipe, volatile disks on ata0-master/ata0-slave/ata1-master, run non-interactively")
    func bochs() throws {
        let plan = BootPlan(backend: .bochs, disks: ["/s/l1.img", "/s/l2.img", "/s/guest.img"].map { BootDisk(path: $0) }, smp: 2)
        let invocation = try BochsEmulator().prepare(plan, in: folder)
        #expect(invocation.process.executable == "bochs-bin")
        #expect(invocation.process.arguments == ["-q", "-f", "\(folder)/bochsrc", "-rc", "\(folder)/bochs-commands"])
        #expect(invocation.process.environment["SDL_VIDEODRIVER"] == "dummy")
        #expect(try String(contentsOfFile: "\(folder)/bochs-commands", encoding: .utf8) == "c\nquit\n")
        let rc = try String(contentsOfFile: "\(folder)/bochsrc", encoding: .utf8)
        for line in [
            "cpu: model=corei7_skylake_x, count=2, ips=10000000, reset_on_triple_fault=0, ignore_bad_msrs=0",
            "memory: guest=1024, host=1024", "display_library: sdl2", "speaker: enabled=0", "sound: driver=dummy",
            "com1: enabled=1, mode=file, dev=\(folder)/serial.txt", "boot: disk", "log: \(folder)/bochs.log",
            "romimage: file=/usr/share/bochs/BIOS-bochs-latest", "vgaromimage: file=/usr/share/vgabios/vgabios.bin",
            "ata0-master: type=disk, mode=volatile, path=/s/l1.img, journal=\(folder)/disk0.redolog",
            "ata0-slave: type=disk, mode=volatile, path=/s/l2.img, journal=\(folder)/disk1.redolog",
            "ata1-master: type=disk, mode=volatile, path=/s/guest.img, journal=\(folder)/disk2.redolog",
        ] {
            #expect(rc.contains(line + "\n"), "bochsrc lacks: \(line)")
        }
        #expect(!rc.contains("rfb"), "rfb would open a VNC port")
        #expect(invocation.configFiles.count == 2 && invocation.backendLog == "\(folder)/bochs.log")
    }

    @Test("Bochs refuses qcow2 and paths bochsrc cannot hold, saying what to do")
    func bochsRefuses() {
        let qcow = BootPlan(backend: .bochs, disks: [BootDisk(path: "/g.qcow2", format: .qcow2)])
        let error = #expect(throws: EmulatorError.self) { try BochsEmulator().prepare(qcow, in: folder) }
        #expect(error?.message.contains("qemu-img convert") == true)
        #expect(throws: EmulatorError.self) { try BochsEmulator().prepare(BootPlan(backend: .bochs, disks: [BootDisk(path: "/a,b.img")]), in: folder) }
    }

    @Test("every backend has an emulator")
    func factory() {
        for backend in Backend.allCases { #expect(Emulators.emulator(for: backend).backend == backend) }
    }
}

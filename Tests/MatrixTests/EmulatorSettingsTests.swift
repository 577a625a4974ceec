import Foundation
import Testing

@testable import Matrix

@Suite("Emulator settings in the matrix")
struct EmulatorSettingsTests {
    static let axes = #"{"chain": ["alone", "nested"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs", "qemu-tcg", "qemu-kvm"]}"#

    /// The fixture matrix with `emulator` (JSON text) on its nested chain.
    static func matrix(nested emulator: String) -> String {
        let chain = #"{"component": "hv"}, {"component": "guest"}], "verdict": {"pass": ["PASS"]}"#
        let text = MatrixFixtures.matrix(axes: axes)
        precondition(text.contains(chain))
        return text.replacingOccurrences(of: chain, with: chain + #", "emulator": "# + emulator)
    }

    static func cell(_ plan: Plan, _ chain: String, _ backend: Backend) throws -> Cell {
        try #require(plan.cells.first { $0.chain == chain && $0.backend == backend })
    }

    @Test("each backend's cells carry their settings; qemu-kvm/qemu-tcg refine qemu")
    func resolvedPerBackend() throws {
        let plan = try MatrixFixtures.plan(Self.matrix(nested: """
            {"bochs": {"cpu": "corei7_haswell_4770", "lines": ["cpuid: x2apic=1", "clock: sync=none, time0=local"]},
             "qemu": {"cpu": "Nehalem", "machine": "q35", "args": ["-rtc", "base=utc"]},
             "qemu-kvm": {"cpu": "Haswell,vmx=yes", "args": ["-global", "kvm-pit.lost_tick_policy=discard"]}}
            """))
        #expect(try Self.cell(plan, "nested", .bochs).emulator == EmulatorSettings(cpu: "corei7_haswell_4770", extra: ["cpuid: x2apic=1", "clock: sync=none, time0=local"]))
        #expect(try Self.cell(plan, "nested", .qemuTCG).emulator == EmulatorSettings(cpu: "Nehalem", machine: "q35", extra: ["-rtc", "base=utc"]))
        #expect(try Self.cell(plan, "nested", .qemuKVM).emulator == EmulatorSettings(
            cpu: "Haswell,vmx=yes", machine: "q35", extra: ["-rtc", "base=utc", "-global", "kvm-pit.lost_tick_policy=discard"]))
        for backend in Backend.allCases { #expect(try Self.cell(plan, "alone", backend).emulator == nil, "a chain without settings keeps the defaults") }
    }

    @Test("settings are in the cell's record (plan --json), not in its stable id")
    func recordNotID() throws {
        let plain = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: Self.axes))
        let tuned = try MatrixFixtures.plan(Self.matrix(nested: #"{"bochs": {"cpu": "broadwell_ult"}}"#))
        let before = try Self.cell(plain, "nested", .bochs)
        let after = try Self.cell(tuned, "nested", .bochs)
        #expect(before.id == after.id, "history continues across a settings change; the change shows in the record")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(after), as: UTF8.self)
        #expect(json.contains(#""emulator":{"cpu":"broadwell_ult","extra":[]}"#), "\(json)")
        #expect(!String(decoding: try JSONEncoder().encode(before), as: UTF8.self).contains("emulator"))
        let decoded = try JSONDecoder().decode(Cell.self, from: try JSONEncoder().encode(after))
        #expect(decoded == after)
    }

    @Test("needsVMX: true for hypervisor levels unless the chain says otherwise")
    func needsVMX() throws {
        let plain = try MatrixFixtures.plan(MatrixFixtures.matrix(axes: Self.axes))
        #expect(try Self.cell(plain, "nested", .qemuTCG).needsVMX)
        #expect(try !Self.cell(plain, "alone", .qemuTCG).needsVMX)
        let svm = try MatrixFixtures.plan(Self.matrix(nested: #"{"needsVMX": false}"#))
        #expect(try !Self.cell(svm, "nested", .qemuTCG).needsVMX)
        #expect(try Self.cell(svm, "nested", .qemuTCG).emulator == nil)
    }

    @Test(
        "host paths and anything that opens a port are rejected, with the JSON path",
        arguments: [
            (#"{"qemu": {"args": ["-serial", "tcp::4444,server"]}}"#, "chains.nested.emulator.qemu.args[0]", "-serial is not allowed: it opens a port"),
            (#"{"qemu": {"args": ["-gdb", "x"]}}"#, "chains.nested.emulator.qemu.args[0]", "mentions gdb"),
            (#"{"qemu": {"args": ["-s"]}}"#, "chains.nested.emulator.qemu.args[0]", "-s is not allowed: it opens a port"),
            (#"{"qemu": {"args": ["-netdev", "user,id=n0"]}}"#, "chains.nested.emulator.qemu.args[0]", "-netdev is not allowed"),
            (#"{"qemu": {"args": ["-chardev", "socket,id=c,port=4444"]}}"#, "chains.nested.emulator.qemu.args[1]", "mentions socket"),
            (#"{"qemu-tcg": {"args": ["-monitor", "stdio"]}}"#, "chains.nested.emulator.qemu-tcg.args[0]", "-monitor is not allowed"),
            (#"{"qemu": {"args": ["-device", "e1000,netdev=n0"]}}"#, "chains.nested.emulator.qemu.args[1]", "uses netdev="),
            (#"{"qemu": {"args": ["-drive", "file=/etc/shadow"]}}"#, "chains.nested.emulator.qemu.args[1]", "host paths are not allowed"),
            (#"{"qemu": {"args": ["-smbios", "file=smbios.bin"]}}"#, "chains.nested.emulator.qemu.args[1]", "uses file=: host paths are not allowed"),
            (#"{"qemu": {"args": ["--vnc", ":0"]}}"#, "chains.nested.emulator.qemu.args[0]", "mentions vnc"),
            (#"{"qemu": {"args": ["-S"]}}"#, "chains.nested.emulator.qemu.args[0]", "freezes the CPU"),
            (#"{"qemu": {"args": ["-cpu", "max"]}}"#, "chains.nested.emulator.qemu.args[0]", "use the \"cpu\" and \"machine\" keys"),
            (#"{"qemu": {"cpu": "host file=/x"}}"#, "chains.nested.emulator.qemu.cpu", "host paths are not allowed"),
            (#"{"qemu": {"machine": "pc;reboot"}}"#, "chains.nested.emulator.qemu.machine", "is not a qemu -machine value"),
            (#"{"bochs": {"lines": ["com2: enabled=1, mode=socket-server, dev=localhost:4444"]}}"#, "chains.nested.emulator.bochs.lines[0]", "mentions socket"),
            (#"{"bochs": {"lines": ["gdbstub: enabled=1, port=1234"]}}"#, "chains.nested.emulator.bochs.lines[0]", "mentions gdb"),
            (#"{"bochs": {"lines": ["parallel1: enabled=1"]}}"#, "chains.nested.emulator.bochs.lines[0]", "the parallel1 directive is not allowed: nothing may open a port"),
            (#"{"bochs": {"lines": ["romimage: file=/tmp/bios"]}}"#, "chains.nested.emulator.bochs.lines[0]", "host paths are not allowed"),
            (#"{"bochs": {"lines": ["display_library: x"]}}"#, "chains.nested.emulator.bochs.lines[0]", "the display_library directive is not allowed"),
            (#"{"bochs": {"lines": ["pci: enabled=1, chipset=i440fx, slot1=ne2k"]}}"#, "chains.nested.emulator.bochs.lines[0]", "plugs in ne2k"),
            (#"{"bochs": {"lines": ["cpu: model=ryzen"]}}"#, "chains.nested.emulator.bochs.lines[0]", "use the \"cpu\" key for the model"),
            (#"{"bochs": {"lines": ["cpuid: x2apic=1\ncom1: enabled=1"]}}"#, "chains.nested.emulator.bochs.lines[0]", "line break"),
            (#"{"bochs": {"cpu": "Skylake X"}}"#, "chains.nested.emulator.bochs.cpu", "is not a Bochs CPU model name"),
            (#"{"bochs": {"cpu": "corei7_skylake_x", "line": []}}"#, "chains.nested.emulator.bochs.line", "unknown key \"line\" in Bochs settings (did you mean \"lines\"?)"),
            (#"{"qemu-tgc": {}}"#, "chains.nested.emulator.qemu-tgc", "unknown key \"qemu-tgc\" in emulator settings (did you mean \"qemu-tcg\"?)"),
            (#"{"needsVMX": "yes"}"#, "chains.nested.emulator.needsVMX", "expected true or false"),
        ])
    func rejected(emulator: String, path: String, message: String) {
        let issues = MatrixFixtures.issues(Self.matrix(nested: emulator))
        #expect(issues.contains { $0.contains(": \(path): ") && $0.contains(message) }, "\(issues)")
    }

    @Test("ordinary tuning is accepted", arguments: [
        #"{"qemu": {"cpu": "host,-arch-capabilities", "machine": "pc-i440fx-7.2", "args": ["-d", "guest_errors", "-no-hpet", "-icount", "shift=0"]}}"#,
        ##"{"bochs": {"cpu": "tigerlake", "lines": ["# MSR-lean model", "cpu: ips=40000000, ignore_bad_msrs=1", "port_e9_hack: enabled=1", "magic_break: enabled=1", ""]}}"##,
    ])
    func accepted(emulator: String) throws {
        #expect(MatrixFixtures.issues(Self.matrix(nested: emulator)).isEmpty)
    }
}

/// Issue 11 §9: the XMHF64 example configures XMHF64 and LHV as XMHF64's own build script
/// does, and says why where a user looks (the descriptions).
@Suite("The XMHF64 example")
struct XMHFExampleTests {
    @Test("configure options follow XMHF64's build script; Bochs cells get LHV_OPT 0xdfc")
    func configureOptions() throws {
        let matrix = try MatrixFile.load(path: MatrixFixtures.xmhfExample)
        let plan = try matrix.plan()
        let xmhf = try #require(matrix.components["xmhf64"]?.build?.command)
        let lhv = try #require(matrix.components["lhv"]?.build?.command)
        for option in ["--with-approot=hypapps/trustvisor", "--disable-drt --disable-dmap", "--enable-debug-qemu"] { #expect(xmhf.contains(option)) }
        for option in ["--with-approot=hypapps/helloworld", "--with-sl-base=0x8000000", "--disable-drt --disable-dmap"] { #expect(lhv.contains(option)) }
        #expect(matrix.components["xmhf64"]?.options.contains("--enable-skip-runtime-bss --enable-skip-bootloader-hash") == true, "the fast build")
        let everything = try String(contentsOfFile: MatrixFixtures.xmhfExample, encoding: .utf8)
        #expect(!everything.contains("hypapps-x86"), "no such app root on any branch")
        #expect(!plan.cells.contains { $0.levels.contains { $0.build?.variables["options"]?.contains("--disable-init-smp") == true } }, "the option is --enable-skip-init-smp")
        for cell in plan.cells where cell.backend == .bochs {
            for level in cell.levels where level.component == "lhv" { #expect(level.build?.variables["options"] == "--with-lhv-opt=0xdfc") }
        }
        for fact in ["autoreconf", "spurious IRQ 7", "nested vmentry", "0x179", "--enable-skip-init-smp"] {
            #expect(everything.contains(fact), "the descriptions mention \(fact)")
        }
    }
}

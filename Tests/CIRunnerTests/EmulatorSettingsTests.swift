import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// A matrix's emulator settings reach the generated configuration; cells that need VMX
/// where the backend has none are SKIPped before they boot; the no-VT/EPT/nested-paging
/// lines hypervisors print are recognised.
@Suite("Emulator settings, VMX-less backends and their markers")
struct EmulatorSettingsTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-emusettings-\(UUID().uuidString)").path

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    /// One hypervisor level on every backend, with `emulator` (JSON) on its chain.
    static func cells(emulator: String?) throws -> [Cell] {
        let text = """
            {"name": "t",
             "components": {"hv": {"repository": "/repo/hv", "revision": "main",
                "build": {"command": "make", "outputs": {"k": "hv.bin"}}, "boot": {"kernel": "k"}}},
             "chains": {"hv": {"levels": [{"component": "hv"}], "verdict": {"pass": ["PASS"]}\(emulator.map { #", "emulator": "# + $0 } ?? "")}},
             "axes": {"opt": ["O0"], "bits": ["amd64"], "smp": [2], "backend": ["bochs", "qemu-tcg", "qemu-kvm"]}}
            """
        return try MatrixFile.parse(text, file: "m.json").plan().cells
    }

    static let settings = """
        {"bochs": {"cpu": "corei7_haswell_4770", "lines": ["cpuid: x2apic=1", "port_e9_hack: enabled=1"]},
         "qemu": {"cpu": "Nehalem", "machine": "q35", "args": ["-rtc", "base=utc"]},
         "qemu-kvm": {"cpu": "Haswell,vmx=yes,+invtsc"}}
        """

    @Test("a cell's Bochs cpu and lines are in the generated bochsrc")
    func bochsrc() throws {
        let cell = try #require(try Self.cells(emulator: Self.settings).first { $0.backend == .bochs })
        _ = try BochsEmulator().prepare(BootPlan(cell: cell, disks: [BootDisk(path: "/s/l1.img")]), in: folder)
        let rc = try String(contentsOfFile: "\(folder)/bochsrc", encoding: .utf8)
        #expect(rc.contains("cpu: model=corei7_haswell_4770, count=2, ips=10000000, reset_on_triple_fault=0, ignore_bad_msrs=0\n"))
        #expect(!rc.contains("corei7_skylake_x"))
        #expect(rc.hasSuffix("cpuid: x2apic=1\nport_e9_hack: enabled=1\n"), "the matrix's lines come last, after nestci's own")
    }

    @Test("a chain's `cpu: ips=N` line puts back a higher Bochs ips: it follows nestci's own cpu line, so Bochs takes it")
    func bochsIPSOverride() throws {
        let cell = try #require(try Self.cells(emulator: #"{"bochs": {"lines": ["cpu: ips=50000000"]}}"#).first { $0.backend == .bochs })
        _ = try BochsEmulator().prepare(BootPlan(cell: cell, disks: [BootDisk(path: "/s/l1.img")]), in: folder)
        let lines = try String(contentsOfFile: "\(folder)/bochsrc", encoding: .utf8).split(separator: "\n").map(String.init)
        let own = try #require(lines.firstIndex { $0.hasPrefix("cpu: model=") })
        #expect(lines[own].contains("ips=\(BochsEmulator.defaultIPS)"))
        let override = try #require(lines.firstIndex(of: "cpu: ips=50000000"), "the matrix's line is in the bochsrc")
        #expect(override > own, "Bochs applies cpu lines in order: the later ips wins")
    }

    @Test("a cell's qemu cpu, machine and args are on the qemu command line")
    func qemuCommandLine() throws {
        let cells = try Self.cells(emulator: Self.settings)
        let tcg = try #require(cells.first { $0.backend == .qemuTCG })
        let arguments = try QemuEmulator(backend: .qemuTCG).prepare(BootPlan(cell: tcg, disks: [BootDisk(path: "/s/a.img")]), in: folder).process.arguments
        func value(after flag: String, in arguments: [String]) -> String? { arguments.firstIndex(of: flag).map { arguments[$0 + 1] } }
        #expect(value(after: "-cpu", in: arguments) == "Nehalem")
        #expect(value(after: "-machine", in: arguments) == "q35")
        #expect(Array(arguments.suffix(2)) == ["-rtc", "base=utc"])
        #expect(arguments.filter { $0 == "-cpu" }.count == 1 && arguments.filter { $0 == "-machine" }.count == 1)

        let kvm = try #require(cells.first { $0.backend == .qemuKVM })
        let kvmArguments = try QemuEmulator(backend: .qemuKVM).prepare(BootPlan(cell: kvm, disks: [BootDisk(path: "/s/a.img")]), in: folder).process.arguments
        #expect(value(after: "-cpu", in: kvmArguments) == "Haswell,vmx=yes,+invtsc")
        #expect(value(after: "-machine", in: kvmArguments) == "q35" && Array(kvmArguments.suffix(2)) == ["-rtc", "base=utc"])
    }

    @Test("without settings: the backends' defaults, and qemu-tcg gets an Intel CPU model")
    func defaults() throws {
        let cells = try Self.cells(emulator: nil)
        let tcg = try #require(cells.first { $0.backend == .qemuTCG })
        let arguments = try QemuEmulator(backend: .qemuTCG).prepare(BootPlan(cell: tcg, disks: [BootDisk(path: "/s/a.img")]), in: folder).process.arguments
        #expect(arguments.contains("Westmere") && !arguments.contains("qemu64"), "qemu64 reports AuthenticAMD")
        #expect(arguments.contains("pc"))
        let bochs = try #require(cells.first { $0.backend == .bochs })
        _ = try BochsEmulator().prepare(BootPlan(cell: bochs, disks: [BootDisk(path: "/s/l1.img")]), in: folder)
        #expect(try String(contentsOfFile: "\(folder)/bochsrc", encoding: .utf8).contains("cpu: model=corei7_skylake_x, count=2"))
    }

    /// A host like this one: qemu and Bochs installed, /dev/kvm without nested VMX.
    static let host = HostFingerprint(
        hostname: "ci", kernel: "6.1", cpuModel: "Test CPU", cpuVMX: false, cpuSVM: false, kvmPresent: true, kvmUsable: true,
        kvmNested: nil, qemuVersion: "QEMU emulator version 7.2.22", bochsVersion: "Bochs x86 Emulator 2.7",
        bochsCPUModels: ["corei7_skylake_x", "corei7_haswell_4770", "ryzen"], grubVersion: nil,
        backends: [
            Backend.qemuTCG.rawValue: BackendCapability(available: true, reason: "qemu found", canRunVMX: false, vmxReason: "qemu TCG does not emulate VMX"),
            Backend.qemuKVM.rawValue: BackendCapability(available: true, reason: "qemu and /dev/kvm usable", canRunVMX: false, vmxReason: "the host CPU shows no vmx flag"),
            Backend.bochs.rawValue: BackendCapability(available: true, reason: "Bochs found", canRunVMX: true, vmxReason: "Bochs emulates VMX with corei7_skylake_x"),
        ])

    @Test("a cell that needs VMX is skipped before boot where the fingerprint offers none, with the reason")
    func skipReason() throws {
        let cells = try Self.cells(emulator: nil)
        let reasons = Dictionary(uniqueKeysWithValues: cells.map { ($0.backend, Self.host.vmxSkipReason(for: $0)) })
        #expect(reasons[.bochs] == .some(nil), "Bochs emulates VMX")
        #expect(reasons[.qemuTCG]??.contains("qemu-tcg offers none here (qemu TCG does not emulate VMX)") == true)
        #expect(reasons[.qemuKVM]??.contains("no vmx flag") == true)

        let svm = try Self.cells(emulator: #"{"needsVMX": false}"#)
        #expect(svm.allSatisfy { Self.host.vmxSkipReason(for: $0) == nil }, "a chain that says it needs no VMX boots anywhere")

        let amd = try #require(try Self.cells(emulator: #"{"bochs": {"cpu": "ryzen"}}"#).first { $0.backend == .bochs })
        #expect(Self.host.vmxSkipReason(for: amd)?.contains("the Bochs CPU model ryzen has no VMX") == true)
        let haswell = try #require(try Self.cells(emulator: #"{"bochs": {"cpu": "corei7_haswell_4770"}}"#).first { $0.backend == .bochs })
        #expect(Self.host.vmxSkipReason(for: haswell) == nil)
    }

    static func verdict(_ lines: [String], hostHasVMX: Bool = false) throws -> Verdict? {
        let rules = VerdictRules(pass: [PassRule(marker: Marker(name: "p", regex: "LHV in XMHF test iter"))], fail: VerdictRules.defaultFailMarkers, unsupported: VerdictRules.defaultUnsupportedMarkers)
        var machine = try VerdictStateMachine(rules: rules, smp: 1, hostHasVMX: hostHasVMX, vmxReason: "qemu TCG does not emulate VMX")
        for (index, line) in lines.enumerated() {
            if case .decide(let verdict) = machine.serialLine(number: index + 1, text: line, at: .zero) { return verdict }
        }
        return nil
    }

    @Test(
        "no-VT, no-EPT, no-nested-paging and no-SVM lines are unsupported markers, checked before HALT!",
        arguments: [
            ("CPU(0x00): No support for Nested Paging, HALTING!", "unsupported:no-nested-paging"),
            ("CPU(0x00): no SVM extensions. HALT!", "unsupported:no-svm"),
            ("CPU(0x00): SVM extensions disabled in the BIOS. HALT!", "unsupported:no-svm"),
            ("CPU(0x00) does not support VT. Halting!", "unsupported:no-vmx"),
            ("CPU(0x00) is not an Intel CPU. Halting!", "unsupported:not-intel"),
            ("hv: EPT not supported, halting", "unsupported:no-ept"),
            ("hv: this CPU does not support EPT", "unsupported:no-ept"),
            ("VMX is not available on this processor", "unsupported:no-vmx"),
        ])
    func unsupportedLines(line: String, rule: String) throws {
        let skipped = try #require(try Self.verdict(["boot", line]))
        #expect(skipped.outcome == .skip && skipped.rule == rule, "\(skipped)")
        let failed = try #require(try Self.verdict(["boot", line], hostHasVMX: true))
        #expect(failed.outcome == .fail && failed.rule == rule, "where the backend offers VMX the same line is the guest's failure: \(failed)")
    }

    @Test("HALT! and HALTING! both fail; ordinary lines do not", arguments: [
        ("CPU(0x01): Total number of retries exceeded, HALTING!", "fail:halt"),
        ("CPU(0x00): VMWRITE failed. HALT!", "fail:halt"),
    ])
    func haltLines(line: String, rule: String) throws {
        let verdict = try #require(try Self.verdict([line], hostHasVMX: true))
        #expect(verdict.outcome == .fail && verdict.rule == rule)
        #expect(try Self.verdict(["CPU(0x00): Nested paging support present", "CPU(0x00): UNRESTRICTED-GUEST supported.", "Halting the timer"], hostHasVMX: true) == nil)
    }

    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/serial/xmhf-amd64-O3-qemu-tcg-novt.serial.txt")

    @Test("XMHF64 under qemu-tcg with an Intel model: SKIP on its first `does not support VT` line")
    func realSample() throws {
        let text = try String(contentsOf: Self.sample, encoding: .utf8)
        // Split the scalars: XMHF64 ends lines in CRLF, which is one Character in Swift.
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        let verdict = try #require(try Self.verdict(lines))
        #expect(verdict.outcome == .skip && verdict.rule == "unsupported:no-vmx")
        #expect(verdict.line == "CPU(0x00) does not support VT. Halting!")
        #expect(verdict.lineNumber == 110)
    }
}

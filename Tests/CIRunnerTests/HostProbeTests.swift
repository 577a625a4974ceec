import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

@Suite("Host probe")
struct HostProbeTests {
    @Test("the real host: TCG never offers VMX, the fingerprint round-trips through JSON")
    func realHost() async throws {
        let fingerprint = await HostProbe.fingerprint()
        let tcg = fingerprint.vmxSupport(for: .qemuTCG)
        #expect(!tcg.supported)
        #expect(tcg.reason.contains("TCG"))
        for backend in Backend.allCases { #expect(fingerprint.capability(for: backend) != nil) }
        if BootTools.exists("qemu-system-x86_64") {
            #expect(fingerprint.qemuVersion?.contains("QEMU emulator version") == true)
            #expect(fingerprint.availability(of: .qemuTCG).available)
        }
        if BootTools.bochs {
            #expect(fingerprint.bochsVersion?.contains("Bochs x86 Emulator") == true)
            #expect(fingerprint.bochsCPUModels.contains("corei7_skylake_x"))
            #expect(fingerprint.vmxSupport(for: .bochs).supported)
        }
        // KVM VMX needs all three: a usable /dev/kvm, vmx in the flags, nested on.
        let kvm = fingerprint.vmxSupport(for: .qemuKVM)
        #expect(kvm.supported == (fingerprint.kvmUsable && fingerprint.cpuVMX && ["Y", "1"].contains(fingerprint.kvmNested ?? "")))
        let data = try JSONEncoder().encode(fingerprint)
        #expect(try JSONDecoder().decode(HostFingerprint.self, from: data) == fingerprint)
        #expect(String(decoding: data, as: UTF8.self).contains("\"qemu-tcg\""), "backends encode as a JSON object keyed by name")
        let again = await HostProbe.fingerprint()
        #expect(again == fingerprint, "probed again: the same host gives the same fingerprint")
    }

    @Test("a --version killed by a signal marks the probe interrupted (not kept for other tasks); a missing tool does not")
    func interruptedProbe() async throws {
        let scratch = try EvidenceTestDirectory()
        var sources = HostProbe.Sources()
        // As a task killed with its node sees it: the emulator's --version dies by SIGKILL.
        sources.qemu = try scratch.executable("qemu-killed", "#!/bin/sh\nkill -9 $$\n")
        let killed = await HostProbe.probeChecked(sources)
        #expect(killed.interrupted && !killed.fingerprint.availability(of: .qemuTCG).available)
        sources.qemu = scratch.path("no-such-qemu")
        let missing = await HostProbe.probeChecked(sources)
        #expect(!missing.interrupted && !missing.fingerprint.availability(of: .qemuTCG).available, "absent is an answer: it may be kept")
    }

    @Test("missing pieces make a backend unavailable with a reason, and VMX follows")
    func missingPieces() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-probe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try "processor : 0\nmodel name : Test CPU\nflags : fpu vmx sse2\n".write(toFile: "\(scratch)/cpuinfo", atomically: true, encoding: .utf8)
        try "Y\n".write(toFile: "\(scratch)/nested", atomically: true, encoding: .utf8)
        var sources = HostProbe.Sources()
        sources.qemu = "nestci-no-such-qemu"
        sources.bochs = "nestci-no-such-bochs"
        sources.cpuinfo = "\(scratch)/cpuinfo"
        sources.kvmDevice = "\(scratch)/no-kvm"
        sources.kvmNestedParameters = ["\(scratch)/nested"]
        let fingerprint = await HostProbe.probe(sources)
        #expect(fingerprint.cpuVMX && fingerprint.kvmNested == "Y" && fingerprint.cpuModel == "Test CPU")
        #expect(!fingerprint.kvmPresent && !fingerprint.kvmUsable)
        for backend in Backend.allCases {
            let (available, reason) = fingerprint.availability(of: backend)
            #expect(!available)
            #expect(reason.contains("install") || reason.contains("does not exist"), "\(backend): \(reason)")
            #expect(!fingerprint.vmxSupport(for: backend).supported)
        }
    }

    @Test("Bochs CPU model list parsing stops at the list's end")
    func bochsModels() {
        let help = "00000i[ ] LTDL\nSupported CPU models:\n\nbx_generic\ncorei7_skylake_x\ntigerlake\n\n00000i[SIM ] quit\n=====\n Bochs x86 Emulator 2.7\n"
        #expect(HostProbe.bochsModels(help) == ["bx_generic", "corei7_skylake_x", "tigerlake"])
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// The fixture kernels (Tests/Fixtures/kernels, see its README), once they are in this
/// checkout; `NESTCI_FIXTURE_KERNELS` points elsewhere for a local try.
enum FixtureKernels {
    static let source: String? = {
        if let path = ProcessInfo.processInfo.environment["NESTCI_FIXTURE_KERNELS"] { return path }
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            let candidate = url.appendingPathComponent("Tests/Fixtures/kernels")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Makefile").path) { return candidate.path }
            url.deleteLastPathComponent()
        }
        return nil
    }()

    static var available: Bool { source != nil && BootTools.exists("make") }

    /// Builds `fixture.bin` in a copy of the sources (the checkout stays clean).
    static func build(bits: Bits, opt: String) async throws -> String {
        let source = try #require(Self.source)
        let copy = "\(BootTestKernel.folder)/fixture-src-\(bits.rawValue)\(opt)"
        if !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.copyItem(atPath: source, toPath: copy)
            try? FileManager.default.removeItem(atPath: "\(copy)/build")
        }
        let result = try await SupervisedProcess.run(ProcessSpec("make", ["-C", copy, "BITS=\(bits.rawValue)", "OPT=\(opt)"], timeout: .seconds(300)))
        try #require(result.succeeded, "fixture build failed: \(result.output.suffix(2000))")
        return "\(copy)/build/\(bits.rawValue)/fixture.bin"
    }
}

@Suite(
    "XMHF-style chain with the fixture kernels", .serialized,
    .enabled(if: FixtureKernels.available && BootTools.qemu, "needs Tests/Fixtures/kernels (fixture kernels), make, GRUB, mtools and qemu"))
struct BootFixtureChainTests {
    @Test("disk 0: fixture mode=chain gets disk 1's boot sector as `module --nounzip (hd1)+1`; disk 1's GRUB boots mode=pass", arguments: [Bits.i386, .amd64])
    func xmhfStyleChain(bits: Bits) async throws {
        let kernel = try await FixtureKernels.build(bits: bits, opt: "-O2")
        let store = GrubDiskBuilder(store: "\(BootTestKernel.folder)/store")
        let first = try await store.build(
            GrubDiskSpec(
                files: ["fixture.bin": kernel],
                grubConfig: try GrubConfig(kernel: "fixture.bin", cmdline: "mode=chain", handover: .bootSectorModule, diskIndex: 0).render(),
                diskIndex: 0))
        let second = try await store.build(
            GrubDiskSpec(
                files: ["fixture.bin": kernel], grubConfig: try GrubConfig(kernel: "fixture.bin", cmdline: "mode=pass", diskIndex: 1).render(),
                diskIndex: 1))
        let rules = VerdictRules(
            pass: [PassRule(marker: Marker(name: "fixture-pass", regex: "FIXTURE PASS"))], fail: VerdictRules.defaultFailMarkers,
            unsupported: VerdictRules.defaultUnsupportedMarkers)
        let request = BootRequest(
            plan: BootPlan(backend: .qemuTCG, disks: [BootDisk(path: first.path), BootDisk(path: second.path)]), rules: rules,
            folder: BootTestKernel.cellFolder("fixture-chain-\(bits.rawValue)"), deadline: .seconds(60), hostHasVMX: false)
        let result = await BootRunner.run(request)
        let serial = (try? String(contentsOfFile: result.serialLog, encoding: .utf8)) ?? ""
        #expect(result.verdict.outcome == .pass, "\(result.verdict)\n\(serial)")
        #expect(serial.contains("chain level 1 handing over") && serial.contains("nestci: disk 1: GRUB starting"))
        print("qemu-tcg XMHF-style two-disk chain (\(bits.rawValue)) to PASS: \(result.timeToDecision.seconds) s")
        expectEmulatorGone(result)
    }
}

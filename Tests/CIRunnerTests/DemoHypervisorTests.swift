import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// Issue 7 end to end, through nestci's own pieces: the demo repository from
    /// DemoProject, builds by the Builder from the demo matrix's BuildSpecs, GRUB disks from
    /// GrubDiskBuilder, boots under Bochs (VMX) and qemu-tcg (no VMX) by BootRunner, and
    /// the evidence read back with VMCSDumpParser and VMCSDiff. Every assertion is about
    /// the real serial output.
    @Suite("Demo hypervisor (minivisor) built, booted and judged for real")
    struct DemoHypervisorTests {
        @Test(
            "the demo matrix plans the build and verdict the tests rely on",
            .enabled(if: RealBootTools.canBuildDisks, RealBootTools.qemuReason))
        func plannedAsExpected() async throws {
            let cell = RealBootDemoCell(revision: "good", opt: .O3, bits: .amd64)
            let planned = try await RealBootDemo.shared.planned(cell)
            let spec = try #require(planned.levels.first?.build)
            #expect(spec.command == "make BITS={bits} OPT='{opt}' -j{jobs}")
            #expect(spec.outputs == ["kernel": "build/{bits}/minivisor.bin"])
            #expect(spec.revision == "good")
            #expect(planned.verdict.pass.map(\.marker.regex) == [RealBootDemoRules.passMarker])
            #expect(planned.verdict.fail == VerdictRules.defaultFailMarkers)
            #expect(planned.verdict.unsupported == VerdictRules.defaultUnsupportedMarkers)
            #expect(planned.needsVMX, "minivisor is a hypervisor: its cells need VMX")
            #expect(planned.backend == .bochs && planned.smp == 1)
            #expect(try await RealBootDemo.shared.spec(RealBootDemoCell(revision: "main", opt: .O3, bits: .amd64)).revision == "main")
        }

        @Test(
            "good revision: PASS under Bochs at every level and bitness",
            .enabled(if: RealBootTools.bochs, RealBootTools.bochsReason),
            arguments: [OptLevel.O0, .O3], [Bits.i386, .amd64])
        func goodPasses(opt: OptLevel, bits: Bits) async throws {
            let cell = RealBootDemoCell(revision: "good", opt: opt, bits: bits)
            let result = try await RealBootDemo.shared.boot(cell)
            let serial = RealBootRun.serial(result)
            #expect(result.verdict.outcome == .pass, "\(result.verdict)\n\(serial.suffix(3000))")
            #expect(result.verdict.rule == "pass:pass[0]")
            #expect(result.verdict.line == "CPU(0x00): \(RealBootDemoRules.passMarker)")
            // The banner carries the bitness and the exact {opt} the Builder passed.
            let record = try await RealBootDemo.shared.build(cell)
            #expect(serial.contains("minivisor v1.0 (\(bits.rawValue), \(record.optFlags))"), "\(serial.prefix(2000))")
            #expect(serial.contains("CPU(0x00): minivisor test iter 20"))
            let dumps = try VMCSDumpParser.parse(contentsOf: result.serialLog)
            let before = try #require(dumps.dump(introducedBy: "VMCS dump before first VM entry"))
            #expect(before.field(0x2800)?.value == .value(0xffff_ffff_ffff_ffff))
        }

        @Test(
            "bad revision (main): PASS at -O0, FAIL at -O3 with the VM-entry error; the dumps differ in the VMCS link pointer",
            .enabled(if: RealBootTools.bochs, RealBootTools.bochsReason),
            arguments: [Bits.amd64, .i386])
        func badFailsOnlyOptimised(bits: Bits) async throws {
            let demo = RealBootDemo.shared
            let o0 = try await demo.boot(RealBootDemoCell(revision: "main", opt: .O0, bits: bits))
            let o3 = try await demo.boot(RealBootDemoCell(revision: "main", opt: .O3, bits: bits))
            let o0Serial = RealBootRun.serial(o0)
            let o3Serial = RealBootRun.serial(o3)
            #expect(o0.verdict.outcome == .pass, "\(o0.verdict)\n\(o0Serial.suffix(3000))")

            #expect(o3.verdict.outcome == .fail, "\(o3.verdict)\n\(o3Serial.suffix(3000))")
            #expect(o3.verdict.rule == "fail:vm-entry-error")
            let line = try #require(o3.verdict.line)
            #expect(line.contains("VM-ENTRY error: reason=0x80000021"), "\(line)")
            #expect(line.hasPrefix("CPU(0x00): "))

            let good = try VMCSDumpParser.parse(contentsOf: o0.serialLog)
            let bad = try VMCSDumpParser.parse(contentsOf: o3.serialLog)
            #expect(good.malformedLines == 0 && bad.malformedLines == 0, "\(good.malformedLineNumbers) \(bad.malformedLineNumbers)")
            let goodFirst = try #require(good.dump(introducedBy: "VMCS dump before first VM entry"), "no first-entry dump at -O0: \(good.dumps.map(\.title))")
            let badFirst = try #require(bad.dump(introducedBy: "VMCS dump before first VM entry"), "no first-entry dump at -O3: \(bad.dumps.map(\.title))")
            // The failure's own dump is evidence too: the runner lets the guest finish it.
            let badAfter = try #require(
                bad.dumps.first { $0.introducedBy?.text.contains("after VM-entry failure") == true },
                "no dump after the failure at -O3: \(bad.dumps.map { "\($0.title) ← \($0.introducedBy?.text ?? "-")" })")
            #expect(badAfter.fields.count == badFirst.fields.count, "the after-failure dump is complete")
            #expect(badAfter.field(0x4402)?.value == .value(0x8000_0021), "exit reason: VM-entry failure, invalid guest state")
            #expect(badAfter.occurrence == badFirst.occurrence + 1)

            let diff = VMCSDiff(before: goodFirst, after: badFirst)
            print("[realboot] minivisor \(bits.rawValue) main -O0 vs -O3, before first VM entry:\n\(diff.text)")
            let link = try #require(diff.changes.first { $0.encoding == 0x2800 }, "0x2800 not in the diff:\n\(diff.text)")
            #expect(link.sdmName.contains("link pointer") || link.printedName == "guest_VMCS_link_pointer_full", "\(link)")
            #expect(link.before == .value(0xffff_ffff_ffff_ffff))
            #expect(link.after == .value(0))
            // Only code behaviour differs: no other guest-state or control field.
            let others = diff.changes.filter { $0.encoding != 0x2800 && $0.encoding != 0x2801 && $0.group != .hostState }
            #expect(others.isEmpty, "unexpected differences:\n\(diff.text)")
        }

        @Test(
            "-O3 builds with the GCC 12 workaround recorded; without workarounds the build fails with GCC bug 104657's error",
            .enabled(if: RealBootTools.canBuildDisks, RealBootTools.qemuReason))
        func gccWorkaround() async throws {
            let toolchain = try await ToolchainProbe().toolchain(for: "gcc")
            try #require(toolchain.family == "gcc" && toolchain.major >= 12, "the workaround applies to GCC >= 12; this is \(toolchain)")
            let cell = RealBootDemoCell(revision: "good", opt: .O3, bits: .amd64)
            let record = try await RealBootDemo.shared.build(cell)
            #expect(record.status == .passed, "\(record.summary)")
            #expect(record.optFlags == "-O3 -Wno-array-bounds -Wno-stringop-overflow")
            #expect(!record.workaroundsDisabled)
            let workaround = try #require(record.workarounds.first)
            #expect(workaround.flags == ["-Wno-array-bounds"])
            #expect(workaround.reason.contains("104657"))
            #expect(record.command == "make BITS=amd64 OPT='-O3 -Wno-array-bounds -Wno-stringop-overflow' -j\(record.jobs)")

            let raw = try await RealBootDemo.shared.build(cell, noWorkarounds: true)
            #expect(raw.status == .failed)
            #expect(raw.workaroundsDisabled && raw.workarounds.isEmpty)
            #expect(raw.optFlags == "-O3")
            let log = try String(contentsOf: try #require(raw.logURL), encoding: .utf8)
            #expect(log.contains("array subscript 0 is outside array bounds"), "\(log.suffix(2000))")
            #expect(raw.errorLines.contains { $0.contains("array subscript 0 is outside array bounds") }, "\(raw.errorLines)")
        }

        @Test(
            "qemu-tcg has no VMX: the demo says so and nestci reports SKIP on that line",
            .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func noVMXIsSkip() async throws {
            let vmx = await RealBootRun.vmx(.qemuTCG)
            #expect(!vmx.supported, "the host probe must say qemu-tcg has no VMX")
            let result = try await RealBootDemo.shared.boot(RealBootDemoCell(revision: "good", opt: .O0, bits: .amd64), on: .qemuTCG)
            #expect(result.verdict.outcome == .skip, "\(result.verdict)\n\(RealBootRun.serial(result).suffix(2000))")
            #expect(result.verdict.rule == "unsupported:no-vmx")
            #expect(result.verdict.line == "CPU(0x00): does not support VMX. Halting!")
            #expect(result.verdict.reason.contains(vmx.reason))
            #expect(result.timeToDecision < .seconds(60))
        }
    }
}

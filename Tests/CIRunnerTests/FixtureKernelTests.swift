import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// Issue 4's verdict cases with the fixture kernels (Tests/Fixtures/kernels), booted the
    /// way nestci boots: a GRUB disk from GrubDiskBuilder with the mode on the kernel's
    /// command line (GrubConfig), run by BootRunner. Never `qemu -kernel`.
    @Suite(
        "Fixture kernels through GRUB disks: per-CPU counts, VMCS dumps, silence, Bochs",
        .enabled(if: RealBootFixtures.available, "needs Tests/Fixtures/kernels"))
    struct FixtureKernelTests {
        static func iterRule(_ minimum: Int) -> PassRule {
            PassRule(marker: Marker(name: "fixture-iter", regex: "fixture iter"), minPerCPU: minimum)
        }

        @Test(
            "smp: -smp 2 with 25 iterations per CPU and minPerCPU 25 is PASS once both CPUs reached 25",
            .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func perCPUCountReached() async throws {
            let result = try await RealBootFixtures.boot(
                "smp-25", bits: .amd64, opt: .O2, cmdline: "mode=smp cpus=2 iters=25", smp: 2,
                rules: RealBootFixtures.rules(pass: [Self.iterRule(25)]))
            let serial = RealBootRun.serial(result)
            #expect(result.verdict.outcome == .pass, "\(result.verdict)\n\(serial.suffix(2000))")
            #expect(result.verdict.rule == "pass:fixture-iter")
            let line = try #require(result.verdict.line)
            #expect(line == "CPU(0x00): fixture iter 25" || line == "CPU(0x01): fixture iter 25", "\(line)")
            #expect(result.verdict.reason.contains("CPU0 25/25 CPU1 25/25"), "\(result.verdict.reason)")
            // Decided on the line completing the second CPU's count: both had printed 25 by then.
            let lines = serial.split(separator: "\n").map { VerdictStateMachine.clean($0) }
            let upToDecision = lines.prefix(try #require(result.verdict.lineNumber))
            #expect(upToDecision.filter { $0.hasPrefix("CPU(0x00): fixture iter") }.count == 25)
            #expect(upToDecision.filter { $0.hasPrefix("CPU(0x01): fixture iter") }.count == 25)
        }

        @Test(
            "smp: minPerCPU 26 is never met; the guest prints FIXTURE SMP DONE and halts, so the deadline decides: TIMEOUT at 25/26 per CPU",
            .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func perCPUCountShort() async throws {
            let result = try await RealBootFixtures.boot(
                "smp-26", bits: .amd64, opt: .O2, cmdline: "mode=smp cpus=2 iters=25", smp: 2,
                rules: RealBootFixtures.rules(pass: [Self.iterRule(26)]), deadline: .seconds(6))
            #expect(result.verdict.outcome == .timeout, "\(result.verdict)")
            #expect(result.verdict.rule == "deadline")
            #expect(result.verdict.reason.contains("CPU0 25/26 CPU1 25/26"), "\(result.verdict.reason)")
            #expect(result.verdict.lastLines.last == "FIXTURE SMP DONE", "\(result.verdict.lastLines)")
            #expect(result.timeToDecision >= .seconds(6) && result.timeToDecision < .seconds(20), "decided at the deadline, not before; the bound only says it was enforced")
        }

        @Test(
            "smp: the same shortfall with exit=1 ends qemu after FIXTURE SMP DONE: FAIL (guest stopped), not TIMEOUT",
            .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func perCPUCountShortThenExit() async throws {
            let result = try await RealBootFixtures.boot(
                "smp-26-exit", bits: .amd64, opt: .O2, cmdline: "mode=smp cpus=2 iters=25 exit=1", smp: 2,
                rules: RealBootFixtures.rules(pass: [Self.iterRule(26)]), deadline: .seconds(30))
            #expect(result.verdict.outcome == .fail, "\(result.verdict)")
            #expect(result.verdict.rule == "guest-stopped")
            #expect(result.verdict.reason.contains("exit status 3") && result.verdict.reason.contains("CPU0 25/26 CPU1 25/26"), "\(result.verdict.reason)")
            #expect(result.verdict.lastLines.last == "FIXTURE SMP DONE")
        }

        @Test(
            "vmcs under qemu-tcg: -O0 PASS, -O3 FAIL on the VM-entry error; the parsed dumps differ in 0x2800",
            .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason),
            arguments: [Bits.i386, .amd64])
        func vmcsOptimiserFlip(bits: Bits) async throws {
            let good = try await RealBootFixtures.boot("vmcs-O0", bits: bits, opt: .O0, cmdline: "mode=vmcs")
            let bad = try await RealBootFixtures.boot("vmcs-O3", bits: bits, opt: .O3, cmdline: "mode=vmcs")
            #expect(good.verdict.outcome == .pass, "\(good.verdict)")
            #expect(good.verdict.line == "FIXTURE PASS")
            #expect(bad.verdict.outcome == .fail, "\(bad.verdict)")
            #expect(bad.verdict.rule == "fail:vm-entry-error")
            #expect(bad.verdict.line?.hasPrefix("CPU(0x00): VM-ENTRY error: reason=0x80000021") == true, "\(bad.verdict.line ?? "-")")

            let goodDumps = try VMCSDumpParser.parse(contentsOf: good.serialLog)
            let badDumps = try VMCSDumpParser.parse(contentsOf: bad.serialLog)
            #expect(goodDumps.malformedLines == 0 && badDumps.malformedLines == 0)
            let before = try #require(goodDumps.dump(introducedBy: "VMCS dump before first VM entry"))
            let after = try #require(badDumps.dump(introducedBy: "VMCS dump before first VM entry"))
            #expect(before.fields.count == 20 && after.fields.count == 20)
            #expect(before.field(0x401a)?.value == .unavailable)
            // The failure's dump: complete (the runner waits for it), with the exit reason.
            let failure = try #require(badDumps.dump(introducedBy: "VMCS dump after VM-entry failure"))
            #expect(failure.fields.count == 20)
            #expect(failure.field(0x4402)?.value == .value(0x8000_0021))
            #expect(RealBootRun.serial(bad).hasSuffix("HALT!\n"), "the whole failure output is kept")

            let diff = VMCSDiff(before: before, after: after)
            let link = try #require(diff.changes.first { $0.encoding == 0x2800 }, "\(diff.text)")
            #expect(link.before == .value(0xffff_ffff_ffff_ffff))
            #expect(link.after == .value(0))
            // Guest state differs only there. Other differences are addresses that move with
            // the build's layout: host state, and the I/O bitmap's address (0x2000).
            #expect(diff.changes.filter { $0.group == .guestState }.map(\.encoding) == [0x2800], "\(diff.text)")
            #expect(diff.changes.allSatisfy { $0.group == .hostState || [0x2000, 0x2001, 0x2800].contains($0.encoding) }, "\(diff.text)")
        }

        @Test(
            "silent: no kernel output at all; the deadline decides TIMEOUT (never PASS or FAIL), GRUB's lines are the only ones",
            .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func silentIsTimeout() async throws {
            let result = try await RealBootFixtures.boot("silent", bits: .i386, opt: .O2, cmdline: "mode=silent", deadline: .seconds(4))
            #expect(result.verdict.outcome == .timeout, "\(result.verdict)")
            #expect(result.verdict.rule == "deadline")
            #expect(result.verdict.lineNumber == nil && result.verdict.line == nil)
            let serial = RealBootRun.serial(result)
            #expect(!serial.contains("fixture kernel"), "the kernel printed: \(serial)")
            // What the console holds is GRUB's, from before the kernel ran.
            #expect(result.verdict.lastLines.contains("nestci: disk 0: GRUB starting"), "\(result.verdict.lastLines)")
            #expect(!result.verdict.lastLines.contains { $0.hasPrefix("CPU(") || $0.contains("fixture") }, "\(result.verdict.lastLines)")
            #expect(result.timeToDecision >= .seconds(4) && result.timeToDecision < .seconds(20), "decided at the deadline, not before")
        }

        @Test(
            "Bochs: mode=pass through a GRUB disk reads FIXTURE PASS",
            .enabled(if: RealBootTools.bochs, RealBootTools.bochsReason))
        func bochsPass() async throws {
            let result = try await RealBootFixtures.boot(
                "bochs-pass", bits: .i386, opt: .O2, cmdline: "mode=pass", backend: .bochs, deadline: .seconds(90))
            let serial = RealBootRun.serial(result)
            #expect(result.verdict.outcome == .pass, "\(result.verdict)\n\(serial.suffix(2000))")
            #expect(result.verdict.rule == "pass:fixture-pass")
            #expect(result.verdict.line == "FIXTURE PASS")
            #expect(serial.contains("fixture kernel (i386, -O2) mode=pass"))
            #expect(serial.contains("CPU(0x00): fixture iter 5"))
        }
    }
}

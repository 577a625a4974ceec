import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Issue 10 §7 (GRUB): grub.cfg quotes every value for GRUB, refuses control characters,
/// and GRUB giving up before a kernel starts is INFRA at once with GRUB's own messages.
@Suite("GRUB: quoting and GRUB's own errors")
struct GrubSafetyTests {
    @Test("a cmdline with a newline cannot add GRUB commands: render refuses it, naming the character")
    func newlineRefused() throws {
        let config = GrubConfig(kernel: "fixture.bin", cmdline: "mode=fail\nmultiboot /boot/fixture.bin mode=pass")
        #expect(throws: GrubDiskError.self) { try config.render() }
        do {
            _ = try config.render()
        } catch {
            #expect("\(error)".contains("0x0a") && "\(error)".contains("mode=fail\\nmultiboot"), "\(error)")
        }
    }

    @Test("GRUB syntax in a cmdline is quoted: one word each, nothing for GRUB to run; plain cmdlines stay as they were")
    func quoted() throws {
        let text = try GrubConfig(kernel: "fixture.bin", cmdline: "mode=pass a<b>c $x;boot 'q' {y}").render()
        #expect(text.contains("multiboot /boot/fixture.bin mode=pass 'a<b>c' '$x;boot' ''\\''q'\\''' '{y}'\n"), "\(text)")
        let plain = try GrubConfig(kernel: "fixture.bin", cmdline: "mode=pass cpus=2 iters=25").render()
        #expect(plain.contains("multiboot /boot/fixture.bin mode=pass cpus=2 iters=25\n"))
    }

    /// Serial lines as GRUB 2.06 printed them under qemu-tcg (cleaned), for the cases below.
    static let benignThenKernel = [
        "nestci: disk 0: GRUB starting", "error: can't find command `nosuchcmd'.", "error: Can't get controller info..",
        "fixture kernel (i386, -O0) mode=pass", "error: the guest's own line", "FIXTURE PASS",
    ]
    static let missingKernel = [
        "nestci: disk 0: GRUB starting", "error: file `/boot/missing.bin' not found.", "error: you need to load the kernel first.",
        "                       GNU GRUB  version 2.06-13+deb12u2",
    ]

    static func judge(_ lines: [String]) throws -> Verdict? {
        var machine = try VerdictStateMachine(
            rules: VerdictRules(pass: [PassRule(marker: Marker(name: "p", regex: "FIXTURE PASS"))], fail: [], unsupported: []), smp: 1,
            hostHasVMX: false)
        for (index, line) in lines.enumerated() {
            if case .decide(let verdict) = machine.serialLine(number: index + 1, text: line, at: .seconds(index)) { return verdict }
        }
        return nil
    }

    @Test("GRUB's errors that it survives (qemu's controller info, a skipped command) and the guest's own error: lines decide nothing")
    func benignErrors() throws {
        let verdict = try #require(try Self.judge(Self.benignThenKernel))
        #expect(verdict.outcome == .pass && verdict.lineNumber == 6)
    }

    @Test("boot without a kernel is INFRA on that line, quoting GRUB's messages")
    func gaveUp() throws {
        let verdict = try #require(try Self.judge(Self.missingKernel))
        #expect(verdict.outcome == .infra && verdict.rule == "grub-error" && verdict.lineNumber == 3)
        #expect(verdict.reason.contains("error: file `/boot/missing.bin' not found. error: you need to load the kernel first."), "\(verdict.reason)")
        // GRUB's shell banner alone (a template without `boot`) decides too.
        let shell = try #require(try Self.judge(["nestci: disk 0: GRUB starting", "  GNU GRUB  version 2.06"]))
        #expect(shell.outcome == .infra && shell.reason.contains("prompt"))
    }
}

extension RealBootSuite {
    /// The same with real GRUB disks under qemu-tcg: GRUB's errors are INFRA in seconds,
    /// not a TIMEOUT at the deadline; quoted GRUB syntax reaches the kernel as text.
    @Suite(
        "GRUB errors and quoting, booted", .enabled(if: RealBootFixtures.available && RealBootTools.qemu, RealBootTools.qemuReason))
    struct GrubBootTests {
        static func boot(_ label: String, template: String?, cmdline: String = "mode=pass") async throws -> BootResult {
            let kernel = try await RealBootFixtures.shared.kernel(.i386, .O0)
            let config = try GrubConfig(kernel: "fixture.bin", cmdline: cmdline, template: template).render()
            let disk = try await GrubDiskBuilder(store: RealBootRun.folder("disks"))
                .build(GrubDiskSpec(files: ["fixture.bin": kernel], grubConfig: config)).path
            let request = BootRequest(
                plan: BootPlan(backend: .qemuTCG, disks: [BootDisk(path: disk)], memoryMiB: 128), rules: RealBootFixtures.rules(),
                folder: RealBootRun.cellFolder("grub-\(label)"), deadline: .seconds(90), hostHasVMX: false)
            return await RealBootRun.boot("grub \(label)", request)
        }

        static let header = "{serial}\nset timeout=0\necho \"nestci: disk {disk}: GRUB starting\"\n"

        @Test("a kernel GRUB cannot find: INFRA grub-error with GRUB's message, long before the 90 s deadline")
        func missingKernel() async throws {
            let result = try await Self.boot("missing", template: Self.header + "multiboot /boot/missing.bin\nboot\n")
            #expect(result.verdict.outcome == .infra && result.verdict.rule == "grub-error", "\(result.verdict)")
            #expect(result.verdict.reason.contains("error: file `/boot/missing.bin' not found."), "\(result.verdict.reason)")
            #expect(result.timeToDecision < .seconds(45), "decided at \(result.timeToDecision), the deadline is 90 s")
        }

        @Test("a grub.cfg syntax error (raw < > in a template): INFRA grub-error naming it, not a TIMEOUT")
        func syntaxError() async throws {
            let result = try await Self.boot("syntax", template: Self.header + "multiboot /boot/fixture.bin mode=pass <x>\nboot\n")
            #expect(result.verdict.outcome == .infra && result.verdict.reason.contains("error: syntax error."), "\(result.verdict)")
            #expect(result.timeToDecision < .seconds(45))
        }

        @Test("< > $ ; in a cmdline are words for the kernel, not GRUB syntax: the cell PASSes (unquoted, GRUB reports a syntax error)")
        func quotedCmdline() async throws {
            let result = try await Self.boot("quoted", template: nil, cmdline: "mode=pass x<y>z $(id);boot")
            #expect(result.verdict.outcome == .pass, "\(result.verdict)\n\(RealBootRun.serial(result).suffix(1000))")
            #expect(!RealBootRun.serial(result).contains("error: syntax error"))
        }
    }
}

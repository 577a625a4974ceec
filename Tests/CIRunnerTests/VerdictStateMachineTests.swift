import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// The real serial captures in `Tests/Fixtures/serial` (see its README).
enum Samples {
    static let folder: String? = SerialSamples.directory?.path

    static func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOfFile: "\(try #require(folder))/\(name)", encoding: .utf8)
        // By scalars: "\r\n" is one Character, and the captures use CRLF; the CR stays in
        // the line as the emulator wrote it, for the machine to strip.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Feeds lines one by one until a decision, as the runner does.
private func judge(_ lines: [String], _ machine: inout VerdictStateMachine) -> Verdict? {
    for (index, line) in lines.enumerated() {
        if case .decide(let verdict) = machine.serialLine(number: index + 1, text: line, at: .seconds(index)) { return verdict }
    }
    return nil
}

private let lhvInXMHF = Marker(name: "lhv-in-xmhf", regex: #"LHV in XMHF test iter"#)

private func rules(pass: [PassRule]) -> VerdictRules {
    VerdictRules(pass: pass, fail: VerdictRules.defaultFailMarkers, unsupported: VerdictRules.defaultUnsupportedMarkers)
}

@Suite("Verdict state machine")
struct VerdictStateMachineTests {
    @Test("per-CPU counts: PASS only when every CPU reached the minimum")
    func perCPUCounts() throws {
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 2)]), smp: 2, hostHasVMX: true)
        let lines = [
            "CPU(0x00): LHV in XMHF test iter 1", "CPU(0x00): LHV in XMHF test iter 2", "CPU(0x00): LHV in XMHF test iter 3",
            "CPU(0x01): LHV in XMHF test iter 1", "noise", "CPU(0x01): LHV in XMHF test iter 2", "CPU(0x01): LHV in XMHF test iter 3",
        ]
        let verdict = try #require(judge(lines, &machine))
        #expect(verdict.outcome == .pass)
        #expect(verdict.lineNumber == 6)
        #expect(verdict.rule == "pass:lhv-in-xmhf")
        #expect(verdict.line == "CPU(0x01): LHV in XMHF test iter 2")
    }

    @Test("a CPU that never reaches the count keeps it waiting, then TIMEOUT carries the last lines")
    func missingCPUWaits() throws {
        var machine = try VerdictStateMachine(
            rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 1)]), smp: 2, hostHasVMX: true, tailLimit: 3)
        let lines = (1...30).map { "CPU(0x00): LHV in XMHF test iter \($0)" }
        #expect(judge(lines, &machine) == nil)
        #expect(machine.progress.contains("CPU1 0/1"))
        guard case .decide(let verdict) = machine.deadlinePassed(at: .seconds(30)) else {
            Issue.record("deadline must decide")
            return
        }
        #expect(verdict.outcome == .timeout)
        #expect(verdict.lastLines == (28...30).map { "CPU(0x00): LHV in XMHF test iter \($0)" })
        #expect(verdict.reason.contains("CPU1 0/1"))
        #expect(machine.serialLine(number: 31, text: "CPU(0x01): LHV in XMHF test iter 1", at: .seconds(31)) == .none, "nothing after a decision")
    }

    @Test("an explicit cpus count overrides smp")
    func explicitCPUs() throws {
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 1, cpus: 1)]), smp: 4, hostHasVMX: true)
        #expect(judge(["CPU(0x00): LHV in XMHF test iter 1"], &machine)?.outcome == .pass)
    }

    @Test("all plain pass markers must be seen")
    func allMarkers() throws {
        let pass = [PassRule(marker: Marker(name: "a", regex: "alpha")), PassRule(marker: Marker(name: "b", regex: "beta"))]
        var machine = try VerdictStateMachine(rules: rules(pass: pass), smp: 1, hostHasVMX: false)
        let verdict = try #require(judge(["beta", "x", "alpha"], &machine))
        #expect(verdict.outcome == .pass && verdict.rule == "pass:a" && verdict.lineNumber == 3)
    }

    @Test("a fail marker decides FAIL; the first decisive line wins")
    func failMarkerFirstWins() throws {
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: Marker(name: "ok", regex: "PASS"))]), smp: 1, hostHasVMX: true)
        let verdict = try #require(judge(["boot", "Fatal: Halting! Condition 'x == 1' failed, line 12, file a.c", "PASS"], &machine))
        #expect(verdict.outcome == .fail)
        #expect(verdict.rule == "fail:xmhf-assert")
        #expect(verdict.lineNumber == 2)

        var second = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: Marker(name: "ok", regex: "PASS"))]), smp: 1, hostHasVMX: true)
        #expect(judge(["PASS", "HALT!"], &second)?.outcome == .pass)
    }

    @Test("a line that is both fail and pass is FAIL")
    func failBeatsPassOnOneLine() throws {
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: Marker(name: "ok", regex: "iter"))]), smp: 1, hostHasVMX: true)
        #expect(judge(["iter 1 then HALT!"], &machine)?.outcome == .fail)
    }

    @Test("an unsupported marker is SKIP when the probe said no VMX, FAIL when it said yes")
    func unsupported() throws {
        let line = "CPU(0x00) does not support VT. Halting!"
        var noVMX = try VerdictStateMachine(rules: rules(pass: []), smp: 1, hostHasVMX: false, vmxReason: "qemu TCG does not emulate VMX")
        let skip = try #require(judge([line], &noVMX))
        #expect(skip.outcome == .skip)
        #expect(skip.rule == "unsupported:no-vmx")
        #expect(skip.reason.contains("qemu TCG"))
        var withVMX = try VerdictStateMachine(rules: rules(pass: []), smp: 1, hostHasVMX: true)
        #expect(judge([line], &withVMX)?.outcome == .fail)
    }

    @Test("emulator exit: without output INFRA, with output FAIL (guest stopped), killed by a signal INFRA")
    func emulatorExit() throws {
        var silent = try VerdictStateMachine(rules: rules(pass: []), smp: 1, hostHasVMX: true)
        guard case .decide(let infra) = silent.emulatorExited(.exited(1), output: "qemu: could not open disk\n", at: .seconds(1)) else {
            Issue.record("must decide")
            return
        }
        #expect(infra.outcome == .infra)
        #expect(infra.reason.contains("could not open disk"))

        var talked = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: Marker(name: "ok", regex: "PASS"))]), smp: 1, hostHasVMX: true)
        _ = talked.serialLine(number: 1, text: "booting", at: .zero)
        guard case .decide(let stopped) = talked.emulatorExited(.exited(0), output: "", at: .seconds(2)) else {
            Issue.record("must decide")
            return
        }
        #expect(stopped.outcome == .fail)
        #expect(stopped.rule == "guest-stopped")
        #expect(stopped.reason.contains("guest stopped without passing"))
        #expect(stopped.lastLines == ["booting"])

        var crashed = try VerdictStateMachine(rules: rules(pass: []), smp: 1, hostHasVMX: true)
        _ = crashed.serialLine(number: 1, text: "booting", at: .zero)
        if case .decide(let verdict) = crashed.emulatorExited(.signalled(SIGSEGV), output: "", at: .seconds(2)) {
            #expect(verdict.outcome == .infra)
        }
    }

    @Test("CRs and GRUB's screen-clearing escapes are stripped before matching")
    func cleansLines() throws {
        #expect(VerdictStateMachine.clean("\u{1b}[H\u{1b}[J\u{1b}[1;1HCPU(0x00): x\r") == "CPU(0x00): x")
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 1)]), smp: 1, hostHasVMX: true)
        #expect(judge(["\u{1b}[H\u{1b}[JCPU(0x00): LHV in XMHF test iter 1\r"], &machine)?.outcome == .pass)
    }

    @Test("a bad regex is a rules error that names the marker")
    func badRegex() {
        let bad = VerdictRules(pass: [PassRule(marker: Marker(name: "broken", regex: "(unclosed"))], fail: [], unsupported: [])
        #expect(throws: VerdictRulesError.self) { _ = try VerdictStateMachine(rules: bad, smp: 1, hostHasVMX: true) }
    }

    @Test(
        "literal prefilters are required substrings only",
        arguments: [
            ("LHV in XMHF test iter", "LHV in XMHF test iter"), ("^CPU\\(0x", nil), ("does not support (VT|VMX)", "does not support "),
            ("abc|defgh", nil), ("Fatal: Halting! Condition '.*' failed", "Fatal: Halting! Condition '"), ("HALT!", "HALT!"),
            ("colou?r", "colo"), ("ab?cd", nil), ("VMLAUNCH error", "VMLAUNCH error"), ("ab", nil),
        ] as [(String, String?)])
    func literalPrefix(pattern: String, expected: String?) {
        #expect(CompiledMarker.literalPrefix(of: pattern) == expected)
    }
}

@Suite("Verdicts on the real samples")
struct VerdictSampleTests {
    @Test("XMHF i386 → LHV on 2 Bochs CPUs: 21 iterations on each CPU pass on the last one's line")
    func xmhfSMP2() throws {
        let lines = try Samples.lines("xmhf-i386-lhv-smp2-bochs.serial.txt")
        // The capture has exactly 21 `LHV in XMHF test iter` lines per CPU (XMHF64's CI:
        // "more than 20"), CPU 1's 21st on line 688.
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 21)]), smp: 2, hostHasVMX: true)
        let verdict = try #require(judge(lines, &machine))
        #expect(verdict.outcome == .pass)
        #expect(verdict.lineNumber == 688)
        #expect(verdict.line == "CPU(0x01): LHV in XMHF test iter 21")

        // One more than the capture holds: never decides, and the deadline says how far it got.
        var stricter = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 22)]), smp: 2, hostHasVMX: true)
        #expect(judge(lines, &stricter) == nil)
        #expect(stricter.progress.contains("CPU0 21/22 CPU1 21/22"))
    }

    @Test("XMHF amd64 -O3 on qemu TCG: the first no-VT line decides SKIP on a no-VMX backend")
    func noVT() throws {
        let lines = try Samples.lines("xmhf-amd64-O3-qemu-tcg-novt.serial.txt")
        var machine = try VerdictStateMachine(
            rules: rules(pass: [PassRule(marker: lhvInXMHF, minPerCPU: 21)]), smp: 2, hostHasVMX: false,
            vmxReason: "qemu TCG does not emulate VMX")
        let verdict = try #require(judge(lines, &machine))
        #expect(verdict.outcome == .skip)
        #expect(verdict.lineNumber == 110)
        #expect(verdict.line == "CPU(0x00) does not support VT. Halting!")
    }

    @Test("LHV alone on one Bochs CPU: `LHV test iter` counts")
    func lhvAlone() throws {
        let lines = try Samples.lines("lhv-i386-bochs.serial.txt")
        let marker = Marker(name: "lhv-iter", regex: #"LHV test iter"#)
        var machine = try VerdictStateMachine(rules: rules(pass: [PassRule(marker: marker, minPerCPU: 21)]), smp: 1, hostHasVMX: true)
        let verdict = try #require(judge(lines, &machine))
        #expect(verdict.outcome == .pass)
        #expect(verdict.line == "CPU(0x00): LHV test iter 21")
        let iterLines = lines.indices.filter { lines[$0].contains("LHV test iter") }
        #expect(verdict.lineNumber == iterLines[20] + 1)
    }
}

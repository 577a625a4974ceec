import Foundation
import Hypervisor
import Matrix

/// Decides a boot's verdict from its serial console, one line at a time.
///
/// Pure: no clock, no I/O. ``BootRunner`` feeds it lines and events and carries out the
/// actions; tests drive it directly. The first decisive input wins, and everything after
/// a decision is ignored.
public struct VerdictStateMachine {
    public enum Action: Sendable, Equatable {
        case none
        /// Stop the emulator now: this is the verdict.
        case decide(Verdict)
    }

    private let passRules: [CompiledMarker]
    private let passMinimum: [Int?]
    private let passCPUs: [Int]
    private let failMarkers: [CompiledMarker]
    private let unsupportedMarkers: [CompiledMarker]
    private let cpuPattern: NSRegularExpression
    private let hostHasVMX: Bool
    private let vmxReason: String
    private let tailLimit: Int

    /// Per pass rule: seen at all / count per CPU id.
    private var passSeen: [Bool]
    private var perCPU: [[Int: Int]]
    /// Per pass rule and CPU: the times of the first and the last match, for ``rates``.
    private var countTimes: [[Int: (first: Double, last: Double)]]
    private var milestones: MilestoneRecorder
    private var tail: [String] = []
    private var grub = GrubErrorWatch()
    private var tailStart = 0
    public private(set) var linesSeen = 0
    public private(set) var decision: Verdict?

    /// - Parameters:
    ///   - smp: the cell's CPU count, the default for per-CPU pass rules.
    ///   - hostHasVMX: what the host probe said about VMX on this backend; decides
    ///     whether an "unsupported" line is SKIP (no) or FAIL (yes).
    ///   - vmxReason: the probe's words, quoted in a SKIP.
    ///   - tailLimit: how many last lines a TIMEOUT or stopped guest carries.
    ///   - milestones: lines to time (``milestoneTimes``); they decide nothing.
    public init(
        rules: VerdictRules, smp: Int, hostHasVMX: Bool, vmxReason: String = "", tailLimit: Int = 20, milestones: [Marker] = []
    ) throws {
        passRules = try rules.pass.map { try CompiledMarker($0.marker) }
        passMinimum = rules.pass.map(\.minPerCPU)
        passCPUs = rules.pass.map { max(1, $0.cpus ?? smp) }
        failMarkers = try rules.fail.map(CompiledMarker.init)
        unsupportedMarkers = try rules.unsupported.map(CompiledMarker.init)
        do {
            cpuPattern = try NSRegularExpression(pattern: rules.cpuPattern)
        } catch {
            throw VerdictRulesError(marker: "cpuPattern", pattern: rules.cpuPattern)
        }
        self.hostHasVMX = hostHasVMX
        self.vmxReason = vmxReason
        self.tailLimit = max(1, tailLimit)
        passSeen = Array(repeating: false, count: rules.pass.count)
        perCPU = Array(repeating: [:], count: rules.pass.count)
        countTimes = Array(repeating: [:], count: rules.pass.count)
        self.milestones = try MilestoneRecorder(milestones)
    }

    /// One complete serial line (without its line ending), `number` 1-based, `at` the
    /// time since boot start when it was read.
    public mutating func serialLine(number: Int, text rawText: some StringProtocol, at: Duration) -> Action {
        guard decision == nil else { return .none }
        let text = Self.clean(rawText)
        linesSeen += 1
        remember(text)
        milestones.observe(text, number: number, at: at)
        if let error = grub.observe(text) {
            return decide(
                .infra, rule: "grub-error",
                reason: "GRUB could not start the kernel: \(error) (check the disk's grub.cfg: kernel, modules, cmdline)",
                number: number, text: text, at: at, withTail: true)
        }
        // Unsupported before fail: "no SVM extensions. HALT!" is about the host.
        if let marker = unsupportedMarkers.first(where: { $0.matches(text) }) {
            if hostHasVMX {
                return decide(
                    .fail, rule: "unsupported:\(marker.name)",
                    reason: "the guest says the CPU lacks what it needs (\(marker.name)), but this backend offers VMX (\(vmxReason))", number: number,
                    text: text, at: at)
            }
            return decide(
                .skip, rule: "unsupported:\(marker.name)",
                reason: "this backend cannot give the guest VMX: \(vmxReason.isEmpty ? "host probe said no" : vmxReason)",
                number: number, text: text, at: at)
        }
        if let marker = failMarkers.first(where: { $0.matches(text) }) {
            return decide(.fail, rule: "fail:\(marker.name)", reason: "fail marker \(marker.name) on line \(number)", number: number, text: text, at: at)
        }
        guard !passRules.isEmpty else { return .none }
        var completed: String?
        for index in passRules.indices where !isMet(index) {
            guard let match = passRules[index].firstMatch(text) else { continue }
            if passMinimum[index] == nil {
                passSeen[index] = true
            } else {
                let cpu = cpuID(in: text, match: match)
                perCPU[index][cpu, default: 0] += 1
                countTimes[index][cpu] = (countTimes[index][cpu]?.first ?? at.seconds, at.seconds)
            }
            if isMet(index) { completed = passRules[index].name }
        }
        if let completed, passRules.indices.allSatisfy(isMet) {
            return decide(.pass, rule: "pass:\(completed)", reason: "every pass rule met; \(progress)", number: number, text: text, at: at)
        }
        return .none
    }

    /// The boot deadline passed without a decision: TIMEOUT, with the last lines.
    public mutating func deadlinePassed(at: Duration) -> Action {
        guard decision == nil else { return .none }
        let reason = linesSeen == 0 ? "no serial output before the deadline" : "deadline passed after \(linesSeen) lines; \(progress)"
        return decide(.timeout, rule: "deadline", reason: reason, number: nil, text: nil, at: at, withTail: true)
    }

    /// The emulator ended before a decision. With serial output the guest stopped
    /// without passing (a `-no-reboot` triple fault ends qemu with status 0): FAIL.
    /// Without any, or killed by a signal nestci did not send, the emulator itself
    /// failed: INFRA, quoting its own output.
    public mutating func emulatorExited(_ termination: ProcessResult.Termination, output: String, at: Duration) -> Action {
        guard decision == nil else { return .none }
        let status: String
        switch termination {
        case .exited(let code): status = "exit status \(code)"
        case .signalled(let signal): status = "signal \(signal)"
        }
        let said = Self.lastLines(of: output, count: 5)
        if case .signalled = termination {
            return decide(
                .infra, rule: "emulator-exited",
                reason: "the emulator died (\(status)) after \(linesSeen) serial lines; its last words: \(said)", number: nil,
                text: nil, at: at, withTail: true)
        }
        if linesSeen == 0 {
            return decide(
                .infra, rule: "emulator-exited",
                reason: "the emulator ended (\(status)) without any serial output; check its command line and log: \(said)",
                number: nil, text: nil, at: at, withTail: true)
        }
        return decide(
            .fail, rule: "guest-stopped", reason: "guest stopped without passing (emulator \(status)); \(progress)", number: nil,
            text: nil, at: at, withTail: true)
    }

    /// The emulator could not be started at all: INFRA.
    public mutating func emulatorFailedToStart(_ message: String, at: Duration) -> Action {
        guard decision == nil else { return .none }
        return decide(.infra, rule: "emulator-failed-to-start", reason: message, number: nil, text: nil, at: at)
    }

    /// The harness failed during the boot (the serial capture could not be written: a full
    /// disk): INFRA, with the last lines seen.
    public mutating func harnessFailed(rule: String, reason: String, at: Duration) -> Action {
        guard decision == nil else { return .none }
        return decide(.infra, rule: rule, reason: reason, number: nil, text: nil, at: at, withTail: true)
    }

    /// The boot was cancelled (nestci is shutting down): INFRA, so it is retried.
    public mutating func cancelled(at: Duration) -> Action {
        guard decision == nil else { return .none }
        return decide(.infra, rule: "cancelled", reason: "the boot was cancelled before a verdict", number: nil, text: nil, at: at, withTail: true)
    }

    /// Pass rules so far, e.g. `pass:lhv-iter CPU0 21/21 CPU1 15/21`.
    public var progress: String {
        guard !passRules.isEmpty else { return "no pass rules" }
        return passRules.indices.map { index -> String in
            let name = passRules[index].name
            guard let minimum = passMinimum[index] else { return "\(name) \(passSeen[index] ? "seen" : "not seen")" }
            let counts = (0..<passCPUs[index]).map { "CPU\($0) \(perCPU[index][$0, default: 0])/\(minimum)" }
            return "\(name) " + counts.joined(separator: " ")
        }.joined(separator: ", ")
    }

    /// The chain's milestones reached so far, in the chain's order.
    public var milestoneTimes: [MilestoneTime] { milestones.times }

    /// How fast each per-CPU pass rule counted, per CPU that matched it.
    public var rates: [CountingRate] {
        passRules.indices.filter { passMinimum[$0] != nil }.flatMap { index in
            countTimes[index].keys.sorted().map { cpu in
                let times = countTimes[index][cpu]!
                return CountingRate(
                    rule: passRules[index].name, cpu: cpu, count: perCPU[index][cpu, default: 0], firstSeconds: times.first,
                    lastSeconds: times.last)
            }
        }
    }

    /// The last lines seen, oldest first.
    public var lastLines: [String] { Array(tail[tailStart...] + tail[..<tailStart]) }

    // MARK: - Internals

    private func isMet(_ index: Int) -> Bool {
        guard let minimum = passMinimum[index] else { return passSeen[index] }
        return (0..<passCPUs[index]).allSatisfy { perCPU[index][$0, default: 0] >= minimum }
    }

    /// The CPU id from `cpuPattern`'s first capture (`0x01` hex, `1` decimal); a line
    /// without one counts for CPU 0, so single-CPU guests need no prefix.
    private func cpuID(in text: String, match: NSTextCheckingResult) -> Int {
        let range = NSRange(text.startIndex..., in: text)
        guard let found = cpuPattern.firstMatch(in: text, range: range), found.numberOfRanges > 1,
            let capture = Range(found.range(at: 1), in: text)
        else { return 0 }
        let digits = text[capture]
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { return Int(digits.dropFirst(2), radix: 16) ?? 0 }
        return Int(digits) ?? 0
    }

    private mutating func remember(_ line: String) {
        if tail.count < tailLimit {
            tail.append(line)
        } else {
            tail[tailStart] = line
            tailStart = (tailStart + 1) % tailLimit
        }
    }

    private mutating func decide(
        _ outcome: Outcome, rule: String, reason: String, number: Int?, text: String?, at: Duration, withTail: Bool = false
    ) -> Action {
        let verdict = Verdict(
            outcome: outcome, rule: rule, reason: reason, lineNumber: number, line: text, seconds: at.seconds,
            lastLines: withTail ? lastLines : [])
        decision = verdict
        return .decide(verdict)
    }

    /// Drops a trailing CR and terminal escapes (GRUB clears the screen with
    /// `ESC[H ESC[J` before its first line), so anchored patterns still match.
    static func clean(_ raw: some StringProtocol) -> String {
        var text = String(raw)
        while text.last == "\r" || text.last == "\n" { text.removeLast() }
        guard text.contains("\u{1b}") || text.contains("\r") else { return text }
        var out = ""
        var iterator = text.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "\r" { continue }
            guard scalar == "\u{1b}" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            // CSI: ESC [ parameters… final byte in @…~.
            guard let next = iterator.next(), next == "[" else { continue }
            while let byte = iterator.next(), !(0x40...0x7e).contains(byte.value) {}
        }
        return out
    }

    static func lastLines(of output: String, count: Int) -> String {
        let lines = output.split(separator: "\n").suffix(count).map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.isEmpty ? "(no output)" : lines.joined(separator: " | ")
    }
}

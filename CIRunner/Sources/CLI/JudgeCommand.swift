import Foundation
import Hypervisor
import Matrix

/// `nestci judge SERIAL --rules verdict-rules.json [-- COMMAND...]`: the run's verdict
/// rules and state machine outside a run, for reproduce.sh. With a command it boots it
/// the way a run boots an emulator (supervised, deadline, evidence grace, GRUB errors,
/// emulator exit) while following SERIAL; without one it judges a finished log.
enum JudgeCommand {
    static let spec = CommandSpec(
        name: "judge", summary: "judge a serial log (or a boot command's) under a cell's verdict rules",
        discussion: """
            RULES is a cell's verdict-rules.json (beside its reproduce.sh in the store, or in a fetch bundle).
            With `-- COMMAND ARGS...` nestci starts the command (an emulator writing the guest's COM1 to SERIAL),
            follows SERIAL while it runs, stops it at the verdict or the deadline, and judges exactly as a run
            does. Without a command it judges SERIAL as it is; no verdict by its end is a TIMEOUT.
            Prints `verdict: OUTCOME (rule) …`; exits 0 for PASS or SKIP, 1 otherwise.
            """,
        arguments: [
            .init("SERIAL", help: "the serial log to judge (or that COMMAND writes)"),
            .init("COMMAND", optional: true, variadic: true, help: "after --: the boot command to run and follow"),
        ],
        options: [
            .init("rules", value: "FILE", help: "the cell's verdict-rules.json (required)"),
            .init("timeout", value: "SECONDS", help: "boot deadline for COMMAND (default: the cell's; 0: none)"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        guard let rulesPath = arguments.value("rules") else { throw UsageError("--rules FILE is required (a cell's verdict-rules.json)", command: spec) }
        let rules = try load(rulesPath)
        let serial = URL(fileURLWithPath: arguments.positionals[0]).standardizedFileURL.path
        let command = Array(arguments.positionals.dropFirst())
        let verdict: Verdict
        if command.isEmpty {
            verdict = try judgeFile(serial, rules: rules)
        } else {
            let seconds = try arguments.int("timeout", in: 0...(7 * 86400), command: spec) ?? rules.bootTimeoutSeconds
            // Ctrl-C (or a stopped reproduce.sh) must not leave the emulator running.
            SignalTrap.install()
            verdict = await boot(command, serial: serial, rules: rules, deadline: seconds == 0 ? .seconds(7 * 86400) : .seconds(seconds))
        }
        let judged = verdict.accountingForMissingVMX(
            needsVMX: rules.needsVMX, hostHasVMX: rules.hostHasVMX, vmxReason: rules.vmxReason, backend: rules.backend)
        console.print(text(judged))
        return judged.outcome.isAcceptable ? .success : .failure
    }

    static func load(_ path: String) throws -> JudgeRules {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("cannot read \(path); give a cell's verdict-rules.json (beside its reproduce.sh)", status: .dataError)
        }
        do {
            return try JSONDecoder().decode(JudgeRules.self, from: data)
        } catch {
            throw UserError("\(path) is not a verdict-rules.json nestci wrote (\(StoreText.oneLine("\(error)", width: 160))); fetch it again", status: .dataError)
        }
    }

    /// A finished log: its lines through the state machine, then the deadline.
    static func judgeFile(_ path: String, rules: JudgeRules) throws -> Verdict {
        guard FileManager.default.isReadableFile(atPath: path) else { throw UserError("cannot read the serial log \(path)") }
        var machine = try VerdictStateMachine(rules: rules.rules, smp: rules.smp, hostHasVMX: rules.hostHasVMX, vmxReason: rules.vmxReason)
        // The same line model as a live boot (SerialScanner, through the file follower).
        let follower = SerialFileFollower(path: path)
        let lines = try follower.poll() + follower.flush()
        for line in lines {
            if case .decide = machine.serialLine(number: line.number, text: line.text, at: .zero) { break }
        }
        _ = machine.deadlinePassed(at: .zero)
        var verdict = machine.decision!
        if verdict.outcome == .timeout { verdict.reason = "no verdict by the end of \(path): \(verdict.reason)" }
        return verdict
    }

    /// Runs `command` as a run runs an emulator, through ``BootRunner``.
    static func boot(_ command: [String], serial: String, rules: JudgeRules, deadline: Duration) async -> Verdict {
        let folder = (serial as NSString).deletingLastPathComponent
        let emulator = CommandEmulator(backend: rules.backend, command: command, serial: serial)
        let request = BootRequest(
            plan: BootPlan(backend: rules.backend, disks: [], smp: rules.smp), rules: rules.rules, folder: folder, deadline: deadline,
            hostHasVMX: rules.hostHasVMX, vmxReason: rules.vmxReason, emulator: emulator)
        return await BootRunner.run(request).verdict
    }

    static func text(_ verdict: Verdict) -> String {
        var lines = ["verdict: \(verdict.outcome.rawValue) (\(verdict.rule)) after \(String(format: "%.1f", verdict.seconds)) s"]
        if let number = verdict.lineNumber, let line = verdict.line { lines.append("line \(number): \(StoreText.oneLine(line, width: 200))") }
        lines.append("reason: \(verdict.reason)")
        if verdict.lineNumber == nil, !verdict.lastLines.isEmpty {
            lines.append("last lines:")
            lines += verdict.lastLines.map { "  " + StoreText.oneLine($0, width: 200) }
        }
        return lines.joined(separator: "\n")
    }
}

/// A boot command given on the command line (`nestci judge … -- COMMAND`), as an emulator.
struct CommandEmulator: Emulator {
    let backend: Backend
    let command: [String]
    let serial: String

    func prepare(_ plan: BootPlan, in folder: String) throws -> EmulatorInvocation {
        let spec = ProcessSpec(command[0], Array(command.dropFirst()), workingDirectory: folder, gracePeriod: .seconds(2), outputLimit: 1 << 20)
        return EmulatorInvocation(process: spec, serialLog: serial, emulatorLog: (folder as NSString).appendingPathComponent("emulator.log"))
    }
}

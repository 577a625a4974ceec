import Foundation
import Matrix

/// Exit statuses of the `nestci` executable.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// A cell failed, a build failed, or something else the user asked for did not work.
    case failure = 1
    /// The command line was wrong.
    case usage = 64
    /// The matrix (or config) file was wrong.
    case dataError = 65
    /// `nestci run`: the only failures were INFRA (nestci's or the host's trouble, not the
    /// hypervisor's): EX_TEMPFAIL, so a scheduler retries.
    case tempFail = 75
}

/// An error whose message is for the user as it is (no type names, no dumps).
public struct UserError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var status: ExitStatus
    public init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }
    public var description: String { message }
}

/// One `nestci` subcommand.
public struct CommandEntry: Sendable {
    public var spec: CommandSpec
    public var run: @Sendable (ParsedArguments, Console) async throws -> ExitStatus

    public init(_ spec: CommandSpec, run: @escaping @Sendable (ParsedArguments, Console) async throws -> ExitStatus) {
        self.spec = spec
        self.run = run
    }
}

/// The `nestci` command line: dispatch, help, and the mapping of errors to exit statuses.
public enum NestCI {
    /// Every subcommand, in the order `nestci --help` lists them.
    public static var commands: [CommandEntry] {
        [
            PlanCommand.entry, BuildCommand.entry, RunCommand.entry, DemoCommand.entry, RunsCommand.entry, ShowCommand.entry,
            ReportCommand.entry, FetchCommand.entry, JudgeCommand.entry, VMCSCommand.entry, ServeCommand.entry, TriggerCommand.entry,
            CancelCommand.entry, QueueCommand.entry, BisectCommand.entry, BenchCommand.entry, StoreStressCommand.entry,
            TriageCommand.entry, CellCommand.entry, IngestCommand.entry, ExportCommand.entry, PerfCommand.entry,
        ]
    }

    /// Runs `nestci` with `arguments` (without the program name) and returns the exit status.
    public static func main(_ arguments: [String], console: Console = .standard()) async -> Int32 {
        do {
            return try await dispatch(arguments, console: console).rawValue
        } catch where SignalTrap.received != nil {
            // Torn down by SIGINT/SIGTERM: the trap finishes the teardown and exits with
            // 128 + signal; whatever the command threw meanwhile is not news.
            try? await Task.sleep(for: .seconds(30))
            return 128 + (SignalTrap.received ?? SIGTERM)
        } catch let error as MatrixError {
            console.error(error.description)
            return ExitStatus.dataError.rawValue
        } catch {
            console.error("nestci: \(message(for: error))")
            return exitStatus(for: error).rawValue
        }
    }

    static func dispatch(_ arguments: [String], console: Console) async throws -> ExitStatus {
        guard let first = arguments.first else {
            console.error(overview)
            return .usage
        }
        if first == "--help" || first == "-h" {
            console.print(overview)
            return .success
        }
        if first == "--version" {
            console.print("nestci \(version)")
            return .success
        }
        if first == "help" {
            guard arguments.count > 1 else {
                console.print(overview)
                return .success
            }
            guard let command = find(arguments[1]) else { throw unknownCommand(arguments[1]) }
            console.print(command.spec.helpText)
            return .success
        }
        guard let command = find(first) else { throw unknownCommand(first) }
        let parsed = try command.spec.parse(Array(arguments.dropFirst()))
        if parsed.helpRequested {
            console.print(command.spec.helpText)
            return .success
        }
        return try await command.run(parsed, console)
    }

    public static let version = "0.1.0"

    static func find(_ name: String) -> CommandEntry? { commands.first { $0.spec.name == name } }

    static func unknownCommand(_ name: String) -> UsageError {
        let hint = DidYouMean.suggestion(for: name, among: commands.map(\.spec.name)).map { " (did you mean \"\($0)\"?)" } ?? ""
        return UsageError("unknown command \"\(name)\"\(hint); see: nestci --help")
    }

    /// The text of `nestci --help`.
    public static var overview: String {
        var lines = [
            "nestci: nightly CI for hypervisors: builds at several -O levels and bitnesses, boots",
            "nested chains under qemu and Bochs, judges each cell from the serial console, keeps the evidence.",
            "",
            "usage: nestci COMMAND [options] [arguments]",
            "",
            "commands:",
        ]
        // `__name` commands are test helpers, not for users.
        lines += commands.filter { !$0.spec.name.hasPrefix("__") }.map { "  " + $0.spec.name.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + $0.spec.summary }
        lines += [
            "",
            "nestci help COMMAND shows a command's options.",
            "exit status: 0 ok; 1 a cell or build failed (the hypervisor's failure) or the command failed;",
            "  64 usage error; 65 bad matrix or config file; 75 (run) only INFRA failures: the host or",
            "  nestci's harness, retry later; 130/143 interrupted by SIGINT/SIGTERM (children torn down)",
        ]
        return lines.joined(separator: "\n")
    }
}

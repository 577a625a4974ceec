import Foundation

/// What to run as a supervised child process.
///
/// Every child nestci starts (git, gcc, make, grub-mkimage, qemu, Bochs) goes through
/// ``SupervisedProcess`` with one of these: it gets its own session and process group,
/// a deadline, and is torn down as a whole group.
public struct ProcessSpec: Sendable {
    /// Program name (looked up in `PATH`) or absolute path.
    public var executable: String
    public var arguments: [String]
    /// Extra variables on top of the inherited environment.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// Wall-clock limit; `nil` means none (the caller must stop it some other way).
    public var timeout: Duration?
    /// Time between SIGTERM and SIGKILL when the group is torn down.
    public var gracePeriod: Duration
    /// How many bytes of combined stdout+stderr to keep (head and tail).
    public var outputLimit: Int
    /// Optional file that receives the complete combined output as it arrives
    /// (capped at `outputLimit` as well, head and tail kept in memory only).
    public var standardInput: String?

    public init(
        _ executable: String, _ arguments: [String] = [],
        environment: [String: String] = [:], workingDirectory: String? = nil,
        timeout: Duration? = nil, gracePeriod: Duration = .seconds(2),
        outputLimit: Int = 4 << 20, standardInput: String? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.gracePeriod = gracePeriod
        self.outputLimit = outputLimit
        self.standardInput = standardInput
    }

    /// A shell command line, run by `/bin/sh -c`.
    public static func shell(
        _ command: String, workingDirectory: String? = nil, environment: [String: String] = [:],
        timeout: Duration? = nil, outputLimit: Int = 4 << 20
    ) -> ProcessSpec {
        ProcessSpec(
            "/bin/sh", ["-c", command], environment: environment,
            workingDirectory: workingDirectory, timeout: timeout, outputLimit: outputLimit)
    }

    /// The command as one line a person can paste into a shell.
    public var commandLine: String {
        ([executable] + arguments).map(ShellQuote.quote).joined(separator: " ")
    }
}

/// How a supervised child ended.
public struct ProcessResult: Sendable {
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    public var pid: Int32
    public var termination: Termination
    /// True when nestci tore the group down because the deadline passed.
    public var timedOut: Bool
    /// True when nestci tore the group down because it was asked to (cancel, verdict).
    public var stoppedByRequest: Bool
    /// Combined stdout and stderr, head and tail kept when longer than the limit.
    public var output: String
    public var outputTruncated: Bool
    public var duration: Duration

    public var succeeded: Bool { termination == .exited(0) && !timedOut }

    /// A short phrase for logs: "exit 0", "killed by signal 9", "timed out after 30 s".
    public var summary: String {
        if timedOut { return "timed out after \(Int(duration.seconds.rounded())) s" }
        switch termination {
        case .exited(let code): return "exit \(code)"
        case .signalled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// Failure to start a child at all (the program is missing, the folder does not exist).
public struct ProcessLaunchError: Error, CustomStringConvertible, Sendable {
    public var executable: String
    public var errno: Int32
    /// The step of starting it that failed, when it was not the program itself
    /// ("entering /some/folder").
    public var step: String?

    public init(executable: String, errno: Int32, step: String? = nil) {
        self.executable = executable
        self.errno = errno
        self.step = step
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        if errno == ECANCELED { return "not starting \(executable): nestci is shutting down" }
        if let step { return "cannot run \(executable): \(step) failed: \(reason)" }
        if errno == ENOENT {
            return "cannot run \(executable): not found (install it, or check PATH)"
        }
        return "cannot run \(executable): \(reason)"
    }
}

extension Duration {
    /// Seconds as a floating-point number, for reports.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

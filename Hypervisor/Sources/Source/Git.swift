import Foundation

/// Runs git as a supervised child and returns its output; the one door to git for
/// mirrors, revision resolution and worktrees.
enum Git {
    /// Git must never stop to ask for a password on a nightly run, and its messages are
    /// quoted in errors, so they must not depend on the user's locale.
    static let environment = ["GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_ASKPASS": "/bin/true"]

    /// A fetch from a slow server can take minutes; anything longer is a hang.
    static let timeout: Duration = .seconds(900)

    struct Failure: Error {
        var command: String
        var result: ProcessResult

        /// What git said, trimmed to the lines that explain it.
        var said: String {
            let lines = result.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            let text = lines.suffix(4).joined(separator: " / ")
            return text.isEmpty ? result.summary : text
        }
    }

    /// Runs `git <arguments>`; throws ``Failure`` unless it exits 0.
    @discardableResult
    static func run(_ arguments: [String], in directory: String? = nil) async throws -> String {
        let spec = ProcessSpec(
            "git", arguments, environment: environment, workingDirectory: directory,
            timeout: timeout, outputLimit: 1 << 20)
        let result = try await SupervisedProcess.run(spec)
        guard result.succeeded else { throw Failure(command: spec.commandLine, result: result) }
        return result.output
    }
}

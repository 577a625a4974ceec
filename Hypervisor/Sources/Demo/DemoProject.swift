import Foundation

/// The bundled demo hypervisor (minivisor, `Hypervisor/demo/`) turned into a real git
/// repository with a short history, as a hypervisor project's would look the night a
/// regression landed: `good` is the release; 12 harmless commits follow, and after the sixth
/// the one that composes the VMCS link pointer from two 32-bit halves (undefined behaviour
/// that only -O2/-O3 expose); `main` is the top.
public struct DemoProject: Sendable {
    /// Folder holding the demo's sources (Makefile, *.c, regression/).
    public var sources: String
    /// The demo matrix file to copy beside the repository.
    public var matrix: String

    /// Finds the bundled sources: `$NESTCI_DEMO_DIR`, else the source tree nestci was built from.
    public static func locate() throws -> DemoProject {
        let environment = ProcessInfo.processInfo.environment
        let builtFrom = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var candidates: [URL] = []
        if let override = environment["NESTCI_DEMO_DIR"] { candidates.append(URL(fileURLWithPath: override)) }
        candidates.append(builtFrom.appendingPathComponent("demo"))
        for sources in candidates where FileManager.default.fileExists(atPath: sources.appendingPathComponent("Makefile").path) {
            let matrices = [
                sources.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples/demo.json"),
                sources.deletingLastPathComponent().appendingPathComponent("examples/demo.json"),
            ]
            if let matrix = matrices.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
                return DemoProject(sources: sources.path, matrix: matrix.path)
            }
        }
        throw DemoError(
            "cannot find the demo hypervisor's sources (looked in \(candidates.map(\.path).joined(separator: ", "))); set NESTCI_DEMO_DIR to the Hypervisor/demo folder of a nestci checkout")
    }

    /// Creates `<folder>/demo-repo` (a git repository: tag `good`, branch `main` 13 commits
    /// later, the regression the seventh) and `<folder>/demo.json`. Replaces an earlier copy.
    /// Returns the matrix file's path.
    @discardableResult
    public func materialize(in folder: String) async throws -> String {
        let manager = FileManager.default
        let repository = URL(fileURLWithPath: folder).appendingPathComponent("demo-repo")
        try? manager.removeItem(at: repository)
        try manager.createDirectory(at: repository, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: sources) where name != "regression" && name != "build" {
            try manager.copyItem(at: URL(fileURLWithPath: sources).appendingPathComponent(name), to: repository.appendingPathComponent(name))
        }
        try await git(["init", "-q", "-b", "main"], in: repository.path)
        try await git(["add", "-A"], in: repository.path)
        try await git(["commit", "-q", "-m", "minivisor v1.0: VMX demo hypervisor"], in: repository.path)
        try await git(["tag", "good"], in: repository.path)
        // A realistic night: a dozen harmless commits, the regression among them.
        for (index, subject) in Self.harmlessCommits.enumerated() {
            if index == Self.regressionPosition {
                try applyRegression(to: repository)
                try await git(["add", "-A"], in: repository.path)
                try await git(["commit", "-q", "-m", try regressionMessage()], in: repository.path)
            }
            let changes = repository.appendingPathComponent("CHANGES")
            let old = (try? String(contentsOf: changes, encoding: .utf8)) ?? "minivisor changes\n\n"
            try Data((old + "- \(subject)\n").utf8).write(to: changes)
            try await git(["add", "-A"], in: repository.path)
            try await git(["commit", "-q", "-m", subject], in: repository.path)
        }
        let matrixPath = URL(fileURLWithPath: folder).appendingPathComponent("demo.json").path
        try? manager.removeItem(atPath: matrixPath)
        try manager.copyItem(atPath: matrix, toPath: matrixPath)
        return matrixPath
    }

    /// Subjects of the harmless commits after `good` (they only touch CHANGES).
    public static let harmlessCommits = [
        "CHANGES: start a change log", "docs: how to boot minivisor under Bochs", "docs: the serial console's settings",
        "docs: list the VMCS fields the dump prints", "CHANGES: note the i386 build", "docs: explain the 20 test rounds",
        "docs: the guest's exit reasons", "CHANGES: mention the amd64 build", "docs: where the link pointer lives",
        "docs: the -O levels CI builds", "CHANGES: prepare v1.1", "docs: reporting bugs",
    ]
    /// The regression lands after this many harmless commits.
    public static let regressionPosition = 6

    /// The regression commit's message (regression/COMMIT_MSG).
    public func regressionMessage() throws -> String {
        try String(contentsOfFile: "\(sources)/regression/COMMIT_MSG", encoding: .utf8)
    }

    /// The regression commit's subject line.
    public func regressionSubject() throws -> String {
        String(try regressionMessage().split(separator: "\n").first ?? "")
    }

    private func applyRegression(to repository: URL) throws {
        let manager = FileManager.default
        let regression = URL(fileURLWithPath: sources).appendingPathComponent("regression")
        for name in try manager.contentsOfDirectory(atPath: regression.path) where name != "COMMIT_MSG" {
            let target = repository.appendingPathComponent(name)
            try? manager.removeItem(at: target)
            try manager.copyItem(at: regression.appendingPathComponent(name), to: target)
        }
    }

    private func git(_ arguments: [String], in directory: String) async throws {
        let spec = ProcessSpec(
            "git", ["-c", "user.name=nestci demo", "-c", "user.email=demo@nestci.invalid", "-c", "commit.gpgsign=false"] + arguments,
            workingDirectory: directory, timeout: .seconds(60))
        let result = try await SupervisedProcess.run(spec)
        guard result.succeeded else { throw DemoError("git \(arguments.joined(separator: " ")) failed in \(directory): \(result.output)") }
    }
}

/// The demo could not be set up.
public struct DemoError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

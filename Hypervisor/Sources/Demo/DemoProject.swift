import Foundation

/// The bundled demo hypervisor (minivisor, `Hypervisor/demo/`) turned into a real git
/// repository with a short history, as a hypervisor project's would look the night a
/// regression landed: `good` is the release, `main` adds the commit that composes the VMCS
/// link pointer from two 32-bit halves (undefined behaviour that only -O2/-O3 expose).
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

    /// Creates `<folder>/demo-repo` (a git repository: tag `good`, branch `main` one commit
    /// later with the regression) and `<folder>/demo.json`. Replaces an earlier copy.
    /// Returns the matrix file's path.
    @discardableResult
    public func materialize(in folder: String) async throws -> String {
        let manager = FileManager.default
        let repository = URL(fileURLWithPath: folder).appendingPathComponent("demo-repo")
        try? manager.removeItem(at: repository)
        try manager.createDirectory(at: repository, withIntermediateDirectories: true)
        let regression = URL(fileURLWithPath: sources).appendingPathComponent("regression")
        for name in try manager.contentsOfDirectory(atPath: sources) where name != "regression" && name != "build" {
            try manager.copyItem(at: URL(fileURLWithPath: sources).appendingPathComponent(name), to: repository.appendingPathComponent(name))
        }
        try await git(["init", "-q", "-b", "main"], in: repository.path)
        try await git(["add", "-A"], in: repository.path)
        try await git(["commit", "-q", "-m", "minivisor v1.0: VMX demo hypervisor"], in: repository.path)
        try await git(["tag", "good"], in: repository.path)
        var message = "regression"
        for name in try manager.contentsOfDirectory(atPath: regression.path) {
            let source = regression.appendingPathComponent(name)
            if name == "COMMIT_MSG" {
                message = try String(contentsOf: source, encoding: .utf8)
                continue
            }
            let target = repository.appendingPathComponent(name)
            try? manager.removeItem(at: target)
            try manager.copyItem(at: source, to: target)
        }
        try await git(["commit", "-q", "-a", "-m", message], in: repository.path)
        let matrixPath = URL(fileURLWithPath: folder).appendingPathComponent("demo.json").path
        try? manager.removeItem(atPath: matrixPath)
        try manager.copyItem(atPath: matrix, toPath: matrixPath)
        return matrixPath
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

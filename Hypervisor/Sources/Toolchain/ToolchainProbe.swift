import Foundation
import Matrix

/// Asks compilers who they are, once per compiler per probe.
///
/// Each ``Builder`` (one per run) makes its own probe: a thousand-cell run still probes
/// each compiler once, and `nestci serve`, which lives for weeks, sees a compiler upgraded
/// between two runs — so the upgrade changes the cache keys instead of reusing builds of
/// the old compiler.
public actor ToolchainProbe {
    private var probes: [String: Task<Toolchain, any Error>] = [:]
    /// How many compilers were actually probed (for tests).
    public private(set) var probesRun = 0

    public init() {}

    /// The identity of `compiler` (a name looked up in `PATH`, or a path).
    ///
    /// - Throws: ``ToolchainError``.
    public func toolchain(for compiler: String) async throws -> Toolchain {
        if let known = probes[compiler] { return try await known.value }
        probesRun += 1
        let task = Task { try await Self.probe(compiler) }
        probes[compiler] = task
        return try await task.value
    }

    private static func probe(_ compiler: String) async throws -> Toolchain {
        // The three questions at once: each is a compiler start (~20 ms), and every
        // `nestci cell run` of a Slurm task probes again.
        async let asked = ask(compiler, ["--version"])
        async let fullVersion = try? ask(compiler, ["-dumpfullversion"])
        async let machine = ask(compiler, ["-dumpmachine"])
        let versionOutput = try await asked
        let firstLine = versionOutput.split(separator: "\n").first.map(String.init) ?? ""
        // clang only learnt -dumpfullversion late; -dumpversion is the fallback (gcc
        // prints only the major there since gcc 7, hence it is not asked first).
        let version: String
        if let full = await fullVersion, !full.isEmpty {
            version = full
        } else {
            version = try await ask(compiler, ["-dumpversion"])
        }
        let target = try await machine
        var hash = SHA256()
        hash.update(Array(versionOutput.utf8))
        return Toolchain(
            command: compiler, family: Toolchain.family(fromVersionOutput: versionOutput),
            version: version.trimmingCharacters(in: .whitespacesAndNewlines),
            target: target.trimmingCharacters(in: .whitespacesAndNewlines),
            versionLine: firstLine, versionOutputSHA256: hash.hexDigest)
    }

    private static func ask(_ compiler: String, _ arguments: [String]) async throws -> String {
        let spec = ProcessSpec(
            compiler, arguments, environment: ["LC_ALL": "C"], timeout: .seconds(30), outputLimit: 64 << 10)
        let result: ProcessResult
        do {
            result = try await SupervisedProcess.run(spec)
        } catch let error as ProcessLaunchError {
            throw ToolchainError(
                .notFound,
                "compiler '\(compiler)' not found: install it on this host, or name an installed compiler "
                    + "in the matrix file (\(error.description))")
        }
        guard result.succeeded else {
            throw ToolchainError(
                .probeFailed,
                "compiler '\(compiler)' did not answer `\(spec.commandLine)` (\(result.summary)): "
                    + "\(result.output.prefix(300)). Name a gcc or clang compatible compiler in the matrix file.")
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

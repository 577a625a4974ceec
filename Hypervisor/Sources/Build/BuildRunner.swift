import Foundation
import Matrix

/// Carries out one planned build: worktree, command, log, outputs, record, publish.
///
/// Runs off the ``Builder`` actor, so copying and hashing outputs never holds up other
/// requests.
struct BuildRunner: Sendable {
    let store: URL
    let cache: BuildCache
    let options: BuilderOptions

    /// Lines of the log quoted in the record on failure.
    static let maxErrorLines = 10

    /// Builds `plan` with `jobs` parallel jobs; `spawning` is called right before the
    /// command starts. Returns the published record (passed, failed or timed out).
    ///
    /// - Throws: ``TemplateError``, ``SourceError``, ``BuildError`` — nestci's trouble,
    ///   not the build's — and `CancellationError` when the build was cancelled.
    func run(_ plan: BuildPlan, jobs: Int, spawning: @Sendable () async -> Void) async throws -> BuildRecord {
        try Task.checkCancellation()
        let spec = plan.spec
        let values = plan.templateValues(jobs: jobs)
        // Expand first: a template mistake should cost no checkout.
        let command = try Template(spec.command).expand(values)
        let outputPaths = try spec.outputs.mapValues { try Template($0).expand(values) }

        let staging: URL
        do {
            staging = try cache.makeStaging()
        } catch {
            throw BuildError(
                .storeUnwritable, "cannot create a build folder in \(cache.root.path): \(error.localizedDescription)")
        }
        var published = false
        defer { if !published { try? FileManager.default.removeItem(at: staging) } }

        let worktreePath = store.appendingPathComponent("worktrees")
            .appendingPathComponent(StoreLeftovers.worktreeName(cacheKey: plan.cacheKey, keep: options.keepWorktrees))
        let worktree = try await Worktree.add(
            mirror: Mirror(repository: spec.repository, store: store), commit: plan.source.commit, at: worktreePath)

        let startedAt = Date()
        await spawning()
        let result: ProcessResult
        do {
            result = try await SupervisedProcess.run(
                .shell(
                    command, workingDirectory: worktree.path.path, environment: plan.environment,
                    timeout: .seconds(spec.timeoutSeconds), outputLimit: options.logLimit))
        } catch {
            await worktree.remove()
            throw BuildError(.launchFailed, "cannot start the build command of \(spec.key): \(error)")
        }

        // A build stopped because the run was cancelled says nothing about the code:
        // nothing is published, so the next run builds it.
        if result.stoppedByRequest || Task.isCancelled {
            await worktree.remove()
            throw CancellationError()
        }
        var exitCode: Int32?
        if case .exited(let code) = result.termination, !result.timedOut { exitCode = code }
        // The host's trouble, not the code's: INFRA, and nothing is published, so the
        // next run builds again once the host is fixed.
        if !result.timedOut, !result.succeeded, let trouble = Self.hostTrouble(result) {
            await worktree.remove()
            throw BuildError(.hostTrouble, "build command \(result.summary): \(trouble.message) (not cached)")
        }
        var status: BuildRecord.Status = result.timedOut ? .timedOut : (result.succeeded ? .passed : .failed)
        var failure: String? = status == .passed ? nil : "build command \(result.summary)"
        var outputs: [BuildOutput] = []
        if status == .passed {
            do {
                outputs = try collect(outputPaths, from: worktree.path, into: staging)
            } catch let missing as MissingOutput {
                status = .failed
                failure = missing.message
            }
        }
        let logFile = "build.log"
        do {
            try Data(result.output.utf8).write(to: staging.appendingPathComponent(logFile))
        } catch {
            throw BuildError(.storeUnwritable, "cannot write \(logFile) in \(staging.path): \(error.localizedDescription)")
        }

        let record = BuildRecord(
            status: status, specKey: spec.key, cacheKey: plan.cacheKey, component: spec.component,
            repository: spec.repository, revision: spec.revision, commit: plan.source.commit, opt: spec.opt,
            bits: spec.bits, command: command, jobs: jobs, toolchain: plan.toolchain, optFlags: plan.flags.opt,
            workarounds: plan.flags.applied, workaroundsDisabled: plan.flags.workaroundsDisabled, outputs: outputs,
            logFile: logFile, logTruncated: result.outputTruncated,
            errorLines: status == .passed ? [] : Self.errorLines(in: result.output), exitCode: exitCode,
            failure: failure, runID: options.runID,
            startedAt: startedAt, durationSeconds: result.duration.seconds,
            worktree: options.keepWorktrees ? worktree.path.path : nil)
        var variantRecord = record
        if !spec.variant.isEmpty {
            variantRecord.variant = spec.variant
            variantRecord.variantPathDigest = plan.pathDigest
        }
        if !options.keepWorktrees { await worktree.remove() }
        let final = try cache.publish(variantRecord, staging: staging, replace: options.rebuild)
        published = true
        return final
    }

    private struct MissingOutput: Error {
        var message: String
    }

    /// Copies each declared output into `staging/outputs/<name>/` and hashes it.
    private func collect(_ paths: [String: String], from worktree: URL, into staging: URL) throws -> [BuildOutput] {
        let fileManager = FileManager.default
        var outputs: [BuildOutput] = []
        for (name, relative) in paths.sorted(by: { $0.key < $1.key }) {
            let declared = worktree.appendingPathComponent(relative)
            var source = declared
            switch WorktreeOutputPath.resolve(relative, in: worktree) {
            case .inside(let resolved): source = resolved
            case .missing: break
            case .outside(let target):
                throw MissingOutput(
                    message:
                        "declared output '\(name)' (\(MessageText.escaped(relative, limit: MessageText.maxEchoed))) resolves to "
                        + "\(MessageText.escaped(target, limit: MessageText.maxEchoed)), outside the build's worktree; "
                        + "outputs must be files inside the worktree (fix the output path or the link the build made)")
            }
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw MissingOutput(
                    message:
                        "declared output '\(name)' is missing: the build command succeeded but left no file at "
                        + "\(relative) (expected \(declared.path)); fix the output path in the matrix file or the build")
            }
            let folder = staging.appendingPathComponent("outputs").appendingPathComponent(name)
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
            let target = folder.appendingPathComponent(declared.lastPathComponent)
            try fileManager.copyItem(at: source, to: target)
            let (digest, size) = try Self.hash(target)
            outputs.append(
                BuildOutput(
                    name: name, path: "outputs/\(name)/\(declared.lastPathComponent)", source: relative, sha256: digest,
                    size: size))
        }
        return outputs
    }

    /// SHA-256 and size of a file, read in chunks (a hypervisor image can be large).
    static func hash(_ file: URL) throws -> (String, Int) {
        guard let digest = try FileDigest.sha256(path: file.path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: file.path])
        }
        return (digest.hex, digest.bytes)
    }

    static func hostTrouble(_ result: ProcessResult) -> HostTrouble? {
        var signal: Int32?
        var exitCode: Int32?
        switch result.termination {
        case .exited(let code): exitCode = code
        case .signalled(let number): signal = number
        }
        return HostTrouble.classify(exitCode: exitCode, signal: signal, log: result.output)
    }

    /// The first lines naming a compiler (or linker) error, for the summary.
    static func errorLines(in log: String) -> [String] {
        var lines: [String] = []
        for line in log.split(separator: "\n") where line.contains("error:") {
            lines.append(String(line.prefix(400)))
            if lines.count == maxErrorLines { break }
        }
        return lines
    }
}

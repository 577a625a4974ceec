import Foundation
import Matrix

/// `nestci run --executor local|slurm` and the Slurm executor's options.
extension RunCommand {
    static let executorOptions: [CommandSpec.Option] = [
        .init("executor", value: "NAME", help: "local (default: builds and boots here) or slurm (builds and cells as Slurm job arrays of `nestci build`/`nestci cell run`, bundles ingested as tasks end)"),
        .init("partition", value: "P", help: "slurm: sbatch --partition (default: the cluster's default)"),
        .init("account", value: "A", help: "slurm: sbatch --account"),
        .init("spool", value: "DIR", help: "slurm: task scripts, logs and bundles, on a filesystem all nodes see (default STORE/slurm/<run>)"),
        .init("cache", value: "DIR", help: "slurm: the build cache the tasks share (default STORE/cache)"),
        .init("constraint", value: "BACKEND=FEATURE", repeatable: true, help: "slurm: --constraint for a backend's cells (default qemu-kvm=kvm; none for qemu-tcg, bochs); BACKEND= clears it"),
        .init("cells-per-task", value: "N", help: "slurm: cells one task runs in turn (default 1); more pays Slurm's start of a task once for several short cells"),
        .init("resume", value: "RUN", help: "take over interrupted run RUN (nestci was killed): local runs its unrecorded cells, slurm watches its jobs again"),
    ]

    /// The executor the options name; usage errors before anything is submitted.
    static func executorChoice(_ arguments: ParsedArguments) throws -> ExecutorChoice {
        let name = arguments.value("executor") ?? "local"
        let slurmOnly = ["partition", "account", "spool", "cache", "cells-per-task"].filter { arguments.value($0) != nil } + (arguments.all("constraint").isEmpty ? [] : ["constraint"])
        switch name {
        case "local":
            if let first = slurmOnly.first { throw UsageError("--\(first) is an option of --executor slurm", command: spec) }
            return .local
        case "slurm":
            var slurm = SlurmOptions()
            do {
                if let partition = arguments.value("partition") { try SlurmOptions.checkName(partition, what: "--partition"); slurm.partition = partition }
                if let account = arguments.value("account") { try SlurmOptions.checkName(account, what: "--account"); slurm.account = account }
                for pair in arguments.all("constraint") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                    guard parts.count == 2, let backend = Backend(rawValue: parts[0]) else {
                        throw UsageError("--constraint \(pair): expected BACKEND=FEATURE with BACKEND one of \(Backend.allCases.map(\.rawValue).joined(separator: ", "))", command: spec)
                    }
                    if parts[1].isEmpty { slurm.constraints[backend] = nil } else {
                        try SlurmOptions.checkName(parts[1], what: "--constraint \(backend.rawValue)")
                        slurm.constraints[backend] = parts[1]
                    }
                }
            } catch let error as RunError {
                throw UsageError(error.message, command: spec)
            }
            slurm.spool = arguments.value("spool").map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            slurm.cache = arguments.value("cache").map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            slurm.cellsPerTask = try arguments.int("cells-per-task", in: 1...1000, command: spec) ?? 1
            return .slurm(slurm)
        default:
            throw UsageError("--executor \(name): expected local or slurm", command: spec)
        }
    }
}

import Foundation
import Matrix

/// `nestci trigger FILE`: ask the service for a run.
enum TriggerCommand {
    static let spec = CommandSpec(
        name: "trigger", summary: "queue a run of a matrix for the service (nestci serve picks it up)",
        arguments: [.init("FILE", help: "the matrix file (JSON)")],
        options: [
            CommonOptions.store,
            .init("reason", value: "TEXT", help: "why (shown with the run; default \"manual trigger\")"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let path = URL(fileURLWithPath: arguments.positionals[0]).standardizedFileURL.path
        let matrix = try MatrixFile.load(path: path)
        _ = try matrix.plan()
        let store = try ArtifactStore(root: CommonOptions.storePath(arguments))
        let reason = arguments.value("reason") ?? "manual trigger"
        // An explicit request always runs, even when the revisions did not change (only the
        // schedule skips unchanged revision sets).
        let id = try await store.enqueue(matrixPath: path, matrix: matrix.name, reason: reason, force: true)
        console.print("queued request \(id): \(matrix.name) (\(reason))")
        return .success
    }
}

/// `nestci cancel RUN|ID`.
enum CancelCommand {
    static let spec = CommandSpec(
        name: "cancel", summary: "cancel a queued or running run (by run id or queue id), or an investigation (job-N)",
        arguments: [.init("RUN", help: "a run id (nestci runs), a queue id or an investigation job-N (nestci queue)")],
        options: [CommonOptions.store])

    static let entry = CommandEntry(spec) { arguments, console in
        let store = try ArtifactStore(root: CommonOptions.storePath(arguments))
        let target = arguments.positionals[0]
        if let message = try await store.requestJobCancel(target) {
            console.print(message)
        } else {
            console.print(try await store.requestCancel(target))
        }
        return .success
    }
}

/// `nestci queue`: what the service has been asked to run.
enum QueueCommand {
    static let spec = CommandSpec(
        name: "queue", summary: "list the service's queue (requested, running, done runs)",
        options: [CommonOptions.store, .init("json", help: "print JSON")])

    static let entry = CommandEntry(spec) { arguments, console in
        let store = try ArtifactStore(root: CommonOptions.storePath(arguments))
        let entries = try await store.queue()
        if arguments.flag("json") {
            console.print(try JSONOutput.encode(entries))
            return .success
        }
        var table = TextTable(["id", "state", "matrix", "run", "reason", "note"])
        for entry in entries {
            table.add([String(entry.id), entry.state.rawValue + (entry.cancelRequested ? " (cancel asked)" : ""), entry.matrix, entry.runID ?? "-", entry.reason, entry.message ?? ""])
        }
        console.print(table.rendered)
        let jobs = try await store.jobs()
        if !jobs.isEmpty {
            var investigations = TextTable(["job", "state", "kind", "cell", "signature", "note"])
            for job in jobs {
                investigations.add([
                    job.name, job.state.rawValue + (job.cancelRequested ? " (cancel asked)" : ""), job.kind.rawValue, "\(job.runID)/\(job.cellID)",
                    MessageText.escaped(job.signature, limit: 60), MessageText.escaped(job.message ?? "", limit: 120),
                ])
            }
            console.print("")
            console.print(investigations.rendered)
        }
        return .success
    }
}

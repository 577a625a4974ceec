import Foundation

/// `nestci runs`: the recent runs in the store, newest first, with their counts.
enum RunsCommand {
    static let spec = CommandSpec(
        name: "runs", summary: "list recent runs in the store with their outcome counts",
        discussion: "Newest first. A run whose nestci process died before finishing shows as interrupted;\nits recorded cells are kept. Use a run id with `nestci show`, `report` and `fetch`.",
        options: [
            CommonOptions.store,
            .init("matrix", value: "NAME", help: "only runs of this matrix"),
            .init("limit", value: "N", help: "at most N runs (default 20)"),
            .init("json", help: "print the runs as JSON for machines"),
            .init("all", help: "also list investigation runs (bisect/triage steps)"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let limit = try arguments.int("limit", in: 1...1_000_000, command: spec) ?? 20
        let store = try ArtifactStore.openExisting(root: CommonOptions.storePath(arguments))
        let runs = try await store.runs(limit: limit, matrix: arguments.value("matrix"), investigations: arguments.flag("all"))
        if arguments.flag("json") {
            console.print(try StoreText.json(runs))
            return .success
        }
        guard !runs.isEmpty else {
            let which = arguments.value("matrix").map { " of matrix \($0)" } ?? ""
            console.print("no runs\(which) in \(store.root) yet; `nestci run MATRIX --store \(store.root)` starts one")
            return .success
        }
        console.print(render(runs))
        return .success
    }

    static func render(_ runs: [RunSummary]) -> String {
        var table = TextTable(["run", "matrix", "status", "started", "took", "cells", "outcomes", "findings", "trigger"])
        for run in runs {
            let took = run.finished.map { StoreText.duration($0.timeIntervalSince(run.started)) } ?? "-"
            table.add([
                run.id, run.matrix, run.status.rawValue, StoreText.date(run.started), took,
                "\(run.recordedCells)/\(run.plannedCells)", run.countsText,
                run.status == .finished ? String(run.findingCount) : "-", StoreText.oneLine(run.trigger, width: 40),
            ])
        }
        return table.rendered
    }
}

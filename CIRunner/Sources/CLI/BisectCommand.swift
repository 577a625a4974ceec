import Foundation
import Hypervisor

/// `nestci bisect RUN/CELL`: which commit made the cell fail (issue #12).
enum BisectCommand {
    static let spec = CommandSpec(
        name: "bisect", summary: "find the commit that made a cell fail: git bisect with real builds and boots",
        discussion: """
            good = the cell's commit in its last passing run of the same matrix (or --good), bad = its
            commit in RUN; the level whose commit moved is bisected (several: one at a time, the
            others held at their good commits), every other level pinned to RUN's commits. Follows
            git's DAG (rev-list --bisect, merges included). A step boots K times (1, or more for a
            cell that flaked in its last 14 runs) and counts by the failure's signature: PASS good,
            the same failure bad, another failure retried then skipped, BUILD-FAIL skipped, INFRA
            retried then skipped. The culprit and its parents are booted twice more. Steps are kept
            in the store (run with trigger bisect:ID, `nestci fetch` works on them); asking again
            continues an interrupted bisect and never repeats a recorded boot.
            """,
        arguments: [.init("RUN/CELL", help: "a failing cell, as `nestci show RUN` lists it")],
        options: [
            CommonOptions.store,
            .init("level", value: "N", help: "bisect level N's component (0 = on the emulator)"),
            .init("good", value: "REV", help: "a commit known good (default: from the last passing run)"),
            .init("bad", value: "REV", help: "a commit known bad (default: RUN's)"),
            .init("runs", value: "K", help: "boots per step (default: by the cell's flake history)"),
            .init("max-steps", value: "N", help: "give up after N steps (default 30)"),
            .init("matrix", value: "FILE", help: "the matrix file defining the cell (default: the run's)"),
            .init("json", help: "print the bisect record as JSON"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let reference = try StoreReference.parse(arguments.positionals[0])
        guard let cellID = reference.cellID, reference.dumpNumber == nil else {
            throw UsageError("bisect takes RUN/CELL (`nestci show \(reference.runID)` lists the cells)", command: spec)
        }
        let request = BisectRequest(
            runID: reference.runID, cellID: cellID, level: try arguments.int("level", in: 0...64, command: spec),
            good: arguments.value("good"), bad: arguments.value("bad"), runs: try arguments.int("runs", in: 1...20, command: spec),
            maxSteps: try arguments.int("max-steps", in: 1...1000, command: spec) ?? 30, matrixPath: arguments.value("matrix"))
        let storePath = CommonOptions.storePath(arguments)
        let store = try ArtifactStore.openExisting(root: storePath)
        let json = arguments.flag("json")
        let options = RunOptions(store: storePath, trigger: "bisect", builder: try CommonOptions.builderOptions(arguments, spec: spec))
        // As `nestci triage` and `nestci run`: ^C or SIGTERM tears down the step's builds and
        // boots, whole process trees, before nestci exits.
        SignalTrap.install()
        let record = try await Bisector.run(request, store: store, options: options) { line in
            if !json { console.print("  \(line)") }
        }
        console.print(json ? try JSONOutput.encode(record) : render(record))
        return record.status == .finished && record.culprit != nil ? .success : .failure
    }

    /// The result line, then the steps.
    static func render(_ record: BisectRecord) -> String {
        var lines = [record.resultLine]
        lines += record.notes.map { "  note: \($0)" }
        var table = TextTable(["commit", "purpose", "verdict", "boots", "cell"])
        for step in record.steps {
            table.add([
                String(step.commit.prefix(9)), step.purpose.rawValue, step.verdict,
                step.outcomes.map(\.abbreviation).joined(separator: ","), "\(step.runID)/\(step.cellIDs.first ?? "-")",
            ])
        }
        if !record.steps.isEmpty { lines += ["", table.rendered] }
        return lines.joined(separator: "\n")
    }

    /// The report section for a run's bisects (empty when none).
    static func reportSection(_ records: [BisectRecord]) -> [String] {
        guard !records.isEmpty else { return [] }
        var lines = ["", "bisects:"]
        for record in records {
            lines.append("  \(record.cellID) (\(record.component)): \(record.resultLine)")
        }
        return lines
    }
}

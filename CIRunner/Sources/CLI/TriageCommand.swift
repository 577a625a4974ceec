import Foundation
import Hypervisor

/// `nestci triage RUN/CELL`: which -f flags and which translation units an -O-only failure needs.
enum TriageCommand {
    static let spec = CommandSpec(
        name: "triage", summary: "name the optimisation flags and the source files behind an -O-only failure",
        discussion: """
            CELL is a cell of an -O-only finding of RUN (it passes at -Oa and fails at -Ob, same revision).
            Step 1 delta-debugs over builds at -Ob -fno-X … (the flags gcc -Q --help=optimizers enables at -Ob
            and not at -Oa, undefined-behaviour flags such as -fstrict-aliasing first) for a minimal set whose
            disabling passes. Step 2 puts a compiler wrapper first on PATH (as the cell's compiler, gcc and cc)
            and delta-debugs over the units it logs, built at -Ob with everything else at -Oa; then every unit at
            -Oa through the wrapper must pass ("passes otherwise", said only when it did). Every step is a
            build and boot with the cell's exact boot plan and rules, judged by the failure's signature, kept
            as a cell of an investigation run (`nestci show`); K boots a step for a flaky cell. The record is
            kept in the store; run it again to resume an interrupted triage.
            """,
        arguments: [.init("RUN/CELL", help: "a cell of an -O-only finding (`nestci report RUN` lists them)")],
        options: [
            CommonOptions.store,
            .init("matrix", value: "FILE", help: "the matrix file, when not the run's own path"),
            .init("runs", value: "K", help: "boots a step (default: 1, more for a flaky cell)"),
            .init("max-builds", value: "N", help: "builds it may start (default 60)"),
            .init("slots", value: "N", help: "boots at once (default: the number of cores)"),
            .init("json", help: "print the triage record as JSON"),
        ] + CommonOptions.buildOptions.filter { $0.name != "only" })

    static let entry = CommandEntry(spec) { arguments, console in
        let reference = try StoreReference.parse(arguments.positionals[0])
        guard let cellID = reference.cellID, reference.dumpNumber == nil else {
            throw UsageError("triage takes RUN/CELL (a cell of an -O-only finding; `nestci report \(reference.runID)` lists them)", command: spec)
        }
        var request = TriageRequest(runID: reference.runID, cellID: cellID, matrixPath: arguments.value("matrix"))
        request.runs = try arguments.int("runs", in: 1...20, command: spec)
        if let maxBuilds = try arguments.int("max-builds", in: 1...10_000, command: spec) { request.maxBuilds = maxBuilds }
        let storePath = CommonOptions.storePath(arguments)
        let store = try ArtifactStore.openExisting(root: storePath)
        var options = RunOptions(store: storePath, builder: try CommonOptions.builderOptions(arguments, spec: spec))
        if let slots = try arguments.int("slots", in: 1...256, command: spec) { options.slots = slots }
        options.trigger = "triage"
        let json = arguments.flag("json")
        SignalTrap.install()
        let record = try await run(request, store: store, options: options, console: json ? nil : console)
        if json {
            console.print(try JSONOutput.encode(record))
        }
        return record.status == .finished ? .success : .failure
    }

    /// Runs a triage, its progress on `console`, and prints its result (shared with `nestci demo`).
    static func run(_ request: TriageRequest, store: ArtifactStore, options: RunOptions, console: Console?) async throws -> TriageRecord {
        // A TriageError (not an -O-only cell, gone from the matrix) is printed by its message, exit 1.
        let record = try await Triage.run(request, store: store, options: options) { line in console?.print("triage: " + line) }
        console?.print("")
        record.lines.forEach { console?.print($0) }
        return record
    }
}

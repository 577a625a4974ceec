import Foundation

/// The end of `nestci demo`: the -O triage of the planted bug's -O2 cell, checked at -O3, so
/// the demo ends naming the flag and the file (`the O2/O3 failure needs -fstrict-aliasing;
/// the unit: vmcs_link.c`). The demo repository compiles `regression/vmcs_link.c` of the
/// nestci sources as `vmcs_link.c` (the overlay replaces it), so that is the unit's name.
enum DemoTriage {
    static let expectedFlags = ["-fstrict-aliasing"]
    static let expectedUnit = "vmcs_link.c"

    /// Triages the first -O-only finding of rev=main; `.failure` when it does not name the expected flag and unit.
    static func run(_ outcome: RunOutcome, store storePath: String, console: Console) async throws -> ExitStatus {
        let cells = Dictionary(outcome.results.cells.map { ($0.cellID, $0) }, uniquingKeysWith: { first, _ in first })
        guard let finding = outcome.findings.first(where: { $0.kind == .optOnly && $0.verdicts.contains { cells[$0.cellID]?.values["rev"] == "main" } }),
            let failing = finding.verdicts.filter({ $0.outcome.isFailure }).min(by: { $0.label < $1.label })
        else {
            console.print("demo: NOT as expected: no -O-only finding of rev=main to triage")
            return .failure
        }
        console.print("")
        console.print("demo: -O triage of \(failing.cellID) (\(failing.label)): which -f flags, which source file")
        let store = try ArtifactStore.openExisting(root: storePath)
        var options = RunOptions(store: storePath)
        options.trigger = "demo triage"
        let record = try await TriageCommand.run(TriageRequest(runID: outcome.results.runID, cellID: failing.cellID), store: store, options: options, console: console)
        console.print("")
        guard record.minimalFlags == expectedFlags, record.minimalUnits?.map(\.path) == [expectedUnit], record.confirmations.allSatisfy(\.agrees) else {
            console.print("demo: NOT as expected: the triage should name \(expectedFlags.joined()) and \(expectedUnit): " + TriageRecord.demoLine(record))
            return .failure
        }
        console.print("demo: " + TriageRecord.demoLine(record))
        return .success
    }
}

import Foundation

/// `nestci report RUN`: what a developer reads in the morning: -O-only bugs with their VMCS
/// diff, regressions and fixes with their commits, axis splits.
enum ReportCommand {
    static let spec = CommandSpec(
        name: "report", summary: "print a run's findings: -O-only bugs with VMCS diffs, regressions, fixes, slower/faster timings",
        discussion: "Findings are computed when a run finishes (findings.json); for an interrupted run they are\ncomputed from the cells recorded before it stopped.",
        arguments: [.init("RUN", help: "a run id from `nestci runs`")],
        options: [CommonOptions.store, .init("json", help: "print findings.json's content for machines")])

    static let entry = CommandEntry(spec) { arguments, console in
        let reference = try StoreReference.parse(arguments.positionals[0])
        guard reference.cellID == nil, reference.dumpNumber == nil else {
            throw UsageError("report takes a run id, not a cell (`nestci show \(reference.runID)` shows its cells)", command: spec)
        }
        let store = try ArtifactStore.openExisting(root: CommonOptions.storePath(arguments))
        _ = try await store.folder(for: reference)
        let summary = try await store.run(reference.runID)!
        let findings = try await store.findings(runID: reference.runID)
        let previous = try await store.previousRun(matrix: summary.matrix, before: summary.id)
        let stored = await store.storedFindingsReport(runID: summary.id)
        if arguments.flag("json") {
            var report = FindingsReport(runID: summary.id, matrix: summary.matrix, previousRunID: previous?.id, findings: findings)
            report.warnings = stored?.warnings
            report.commitURLs = stored?.commitURLs
            let triages = try await store.triages(runID: summary.id)
            report.triages = triages.isEmpty ? nil : triages
            console.print(try JSONOutput.encode(report))
            return .success
        }
        let bisects = try await store.bisects(runID: summary.id)
        let text = render(summary: summary, previous: previous, findings: findings, warnings: stored?.warnings ?? [])
        console.print(([text] + BisectCommand.reportSection(bisects)).joined(separator: "\n"))
        for triage in try await store.triages(runID: summary.id) { console.print(([""] + triage.lines).joined(separator: "\n")) }
        return .success
    }

    /// New findings first, then those matching a known issue (`[known: LINK]`), then the
    /// warnings about expired known-issue entries.
    static func render(summary: RunSummary, previous: RunSummary?, findings: [Finding], warnings: [String] = []) -> String {
        let against = previous.map { "compared with the previous run \($0.id)" } ?? "no earlier run of \(summary.matrix) to compare with"
        let known = findings.filter { $0.known != nil }
        let knownText = known.isEmpty ? "" : " (\(findings.count - known.count) new, \(known.count) known)"
        var lines = [
            "run \(summary.id) (matrix \(summary.matrix), \(summary.status.rawValue)): \(summary.countsText)",
            "\(findings.count) finding\(findings.count == 1 ? "" : "s")\(knownText); \(against)",
        ]
        if findings.isEmpty {
            lines.append("no cell passes at one -O level and fails at another, and nothing changed since the previous run")
        }
        for finding in findings.filter({ $0.known == nil }) + known {
            lines.append("")
            lines.append(finding.text)
        }
        if !warnings.isEmpty { lines.append("") }
        lines += warnings.map { "warning: \($0)" }
        return lines.joined(separator: "\n")
    }
}

import Foundation
import Matrix

/// `nestci perf MATRIX [--cell ID]`: each cell's timings per run and commit, and the band a
/// next run is judged by.
enum PerfCommand {
    static let spec = CommandSpec(
        name: "perf", summary: "show each cell's boot timings per run and commit, with the band findings use",
        discussion: """
            Per cell of FILE: newest run first, the commits, the outcome, the time to the verdict and to
            each milestone, and how the time to pass compared with the band of the results before it
            (same configuration, host and backend). The last line is the band the next run is judged by.
            """,
        arguments: [.init("FILE", help: "the matrix file (JSON)")],
        options: [
            CommonOptions.store,
            .init("cell", value: "ID", repeatable: true, help: "only this cell (from `nestci plan`); repeatable"),
            .init("limit", value: "N", help: "at most N runs per cell (default 20)"),
            .init("json", help: "print the timings as JSON for machines"),
        ])

    /// One cell's rows, as `--json` prints them.
    struct CellTimings: Codable {
        var cellID: String
        var label: String
        var runs: [Row]
        var band: PerformanceBand?

        struct Row: Codable {
            var runID: String
            var started: Date
            var commits: [String: String]
            var outcome: String
            var secondsToVerdict: Double?
            var milestones: [MilestoneTime]
            var comparable: Bool
            var band: PerformanceBand?
        }
    }

    static let entry = CommandEntry(spec) { arguments, console in
        let matrix = try MatrixFile.load(path: arguments.positionals[0])
        let plan = try matrix.plan()
        let limit = try arguments.int("limit", in: 1...10_000, command: spec) ?? 20
        let wanted = Set(arguments.all("cell"))
        if let unknown = wanted.subtracting(plan.cells.map(\.id)).sorted().first {
            throw UsageError("no cell \(unknown) in \(arguments.positionals[0]); `nestci plan \(arguments.positionals[0])` lists the cells", command: spec)
        }
        let store = try ArtifactStore.openExisting(root: CommonOptions.storePath(arguments))
        var timings: [CellTimings] = []
        for cell in plan.cells where wanted.isEmpty || wanted.contains(cell.id) {
            let rules = cell.performance ?? PerformanceRules()
            let samples = try await store.performanceHistory(matrix: plan.matrix, cellID: cell.id, backend: cell.backend, limit: limit + rules.history)
            timings.append(Self.timings(cell, samples: samples, rules: rules, limit: limit))
        }
        if arguments.flag("json") {
            console.print(try JSONOutput.encode(timings))
            return .success
        }
        console.print(render(timings, milestones: plan.cells.first.map { ($0.performance?.milestones ?? []).map(\.name) } ?? []))
        return .success
    }

    /// Rows newest first; each compared with the comparable results before it (same host
    /// and configuration as the newest result).
    static func timings(_ cell: Cell, samples: [PerformanceSample], rules: PerformanceRules, limit: Int) -> CellTimings {
        let newest = samples.first
        func comparable(_ sample: PerformanceSample) -> Bool {
            guard let newest else { return false }
            return sample.hostKey == newest.hostKey && sample.result.configuration == newest.result.configuration
                && PerformanceAnalyzer.metrics(of: sample.result)["time to pass"] != nil
        }
        let rows = samples.prefix(limit).enumerated().map { index, sample in
            let earlier = samples[(index + 1)...].filter(comparable).compactMap { PerformanceAnalyzer.metrics(of: $0.result)["time to pass"] }
            return CellTimings.Row(
                runID: sample.runID, started: sample.started, commits: sample.result.commits, outcome: sample.result.outcome.rawValue,
                secondsToVerdict: sample.result.secondsToVerdict, milestones: sample.result.milestones ?? [], comparable: comparable(sample),
                band: PerformanceBand.baseline(newestFirst: earlier, rules: rules))
        }
        let all = samples.filter(comparable).compactMap { PerformanceAnalyzer.metrics(of: $0.result)["time to pass"] }
        return CellTimings(cellID: cell.id, label: "\(cell.chain) \(cell.levelSummary) [\(cell.backend.rawValue) smp\(cell.smp)]", runs: rows, band: PerformanceBand.baseline(newestFirst: all, rules: rules))
    }

    static func render(_ timings: [CellTimings], milestones: [String]) -> String {
        var blocks: [String] = []
        for cell in timings {
            var lines = ["\(cell.cellID)  \(cell.label)"]
            guard !cell.runs.isEmpty else {
                blocks.append((lines + ["  no results yet"]).joined(separator: "\n"))
                continue
            }
            let names = Array(Set(cell.runs.flatMap { $0.milestones.map(\.name) }).subtracting([MilestoneTime.verdict])).sorted {
                (milestones.firstIndex(of: $0) ?? ($0 == MilestoneTime.firstOutput ? -1 : .max), $0) < (milestones.firstIndex(of: $1) ?? ($1 == MilestoneTime.firstOutput ? -1 : .max), $1)
            }
            var table = TextTable(["run", "commits", "outcome", "verdict s"] + names.map { "\($0) s" } + ["vs band"])
            for row in cell.runs {
                let commits = row.commits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.prefix(9))" }.joined(separator: " ")
                let times = names.map { name in row.milestones.first { $0.name == name }.map { String(format: "%.2f", $0.seconds) } ?? "-" }
                var versus = "-"
                if !row.comparable {
                    versus = "other host/config"
                } else if let band = row.band, let seconds = row.secondsToVerdict, row.outcome == Outcome.pass.rawValue {
                    let change = Int(((seconds - band.median) / band.median * 100).rounded())
                    versus = band.contains(seconds) ? "in band" : "\(change >= 0 ? "+" : "")\(change) % \(seconds > band.median ? "slower" : "faster")"
                }
                table.add([row.runID, commits, row.outcome, row.secondsToVerdict.map { String(format: "%.2f", $0) } ?? "-"] + times + [versus])
            }
            lines.append(table.rendered.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n"))
            if let band = cell.band {
                lines.append(String(format: "  band for the next run: %.2f–%.2f s (median %.2f s ±%.0f %%, %d results)", band.lower, band.upper, band.median, band.percent, band.count))
            } else {
                lines.append("  no band yet: too few comparable PASS results")
            }
            blocks.append(lines.joined(separator: "\n"))
        }
        return blocks.joined(separator: "\n\n")
    }
}

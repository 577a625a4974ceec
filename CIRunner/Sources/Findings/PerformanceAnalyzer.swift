import Foundation
import Matrix

/// One earlier result of a cell, as performance findings compare it: where it ran matters,
/// because only results of the same host (``hostKey``) and backend are comparable.
public struct PerformanceSample: Sendable, Equatable {
    public var runID: String
    public var started: Date
    /// ``HostFingerprint/performanceKey(for:)`` of the run's host.
    public var hostKey: String
    public var result: CellResult
}

/// `slower` and `faster` findings: each PASS cell's time to pass and time to each milestone
/// against the band of its own history (same configuration, host and backend; see
/// ``PerformanceBand/baseline(newestFirst:rules:)``). Pure: the store gives the history,
/// the run the re-boots that confirm an outlier.
public struct PerformanceAnalyzer: Sendable {
    public var runID: String
    /// Per backend (raw value): this run's ``HostFingerprint/performanceKey(for:)``, as
    /// ``HostFingerprint/performanceKeys`` gives them.
    public var hostKeys: [String: String]
    public var cells: [CellResult]
    /// Per cell id: its chain's thresholds (cells without an entry use the defaults).
    public var rules: [String: PerformanceRules]
    /// Per cell id: earlier results, newest first (this run left out).
    public var history: [String: [PerformanceSample]]

    public init(
        runID: String, hostKeys: [String: String], cells: [CellResult], rules: [String: PerformanceRules], history: [String: [PerformanceSample]]
    ) {
        self.runID = runID
        self.hostKeys = hostKeys
        self.cells = cells
        self.rules = rules
        self.history = history
    }

    /// One timed quantity of a cell compared with its band.
    public struct Comparison: Sendable, Equatable {
        public var cellID: String
        /// `time to pass`, `time to banner`.
        public var metric: String
        public var seconds: Double
        public var band: PerformanceBand
        public var slower: Bool { seconds > band.median }
    }

    /// `time to pass` and `time to <milestone>` of a PASS result, by metric name.
    public static func metrics(of result: CellResult) -> [String: Double] {
        guard result.outcome == .pass || result.outcome == .flaky else { return [:] }
        var metrics: [String: Double] = [:]
        if let seconds = result.secondsToVerdict { metrics["time to pass"] = seconds }
        for milestone in result.milestones ?? [] where milestone.name != MilestoneTime.verdict {
            metrics["time to \(milestone.name)"] = milestone.seconds
        }
        return metrics
    }

    /// The comparable history of `cell`: PASS results with its configuration, host and backend.
    public func comparable(_ cell: CellResult) -> [PerformanceSample] {
        (history[cell.cellID] ?? []).filter { sample in
            sample.hostKey == hostKeys[cell.backend] && sample.result.backend == cell.backend && sample.result.configuration == cell.configuration
                && cell.configuration != nil && !Self.metrics(of: sample.result).isEmpty
        }
    }

    /// Every metric of `result` (a cell of this run, or its re-boot) outside its band.
    public func outliers(_ result: CellResult) -> [Comparison] {
        let rules = rules[result.cellID] ?? PerformanceRules()
        let samples = comparable(result)
        return Self.metrics(of: result).sorted { $0.key < $1.key }.compactMap { metric, seconds in
            let earlier = samples.compactMap { Self.metrics(of: $0.result)[metric] }
            guard let band = PerformanceBand.baseline(newestFirst: earlier, rules: rules), !band.contains(seconds) else { return nil }
            return Comparison(cellID: result.cellID, metric: metric, seconds: seconds, band: band)
        }
    }

    /// Cells of this run with some metric outside its band: the ones to boot again.
    public var suspects: [CellResult] { cells.filter { !outliers($0).isEmpty } }

    /// The findings: a metric is reported when it is outside its band both in the recorded
    /// result and in its re-boot (`confirmations`, by cell id), on the same side. A cell
    /// without a re-boot is not reported: one slow boot is noise until it happens twice.
    public func findings(confirmations: [String: CellResult]) -> [Finding] {
        var result: [Finding] = []
        let varying = Self.varyingKeys(cells)
        for cell in cells {
            let first = outliers(cell)
            guard !first.isEmpty, let again = confirmations[cell.cellID] else { continue }
            let second = Dictionary(outliers(again).map { ($0.metric, $0) }, uniquingKeysWith: { a, _ in a })
            let previous = comparable(cell).first
            for comparison in first {
                guard let confirmed = second[comparison.metric], confirmed.slower == comparison.slower else { continue }
                result.append(finding(cell, comparison, confirmed: confirmed.seconds, previous: previous, varying: varying))
            }
        }
        return result
    }

    private func finding(_ cell: CellResult, _ comparison: Comparison, confirmed: Double, previous: PerformanceSample?, varying: Set<String>) -> Finding {
        let band = comparison.band
        let change = (comparison.seconds - band.median) / band.median * 100
        let changes = previous.map { FindingsAnalyzer.commitChanges(before: $0.result.commits, after: cell.commits) } ?? []
        let range = changes.map { "\($0.component) \(($0.before ?? "none").prefix(9))..\(($0.after ?? "none").prefix(9))" }
        let commits = range.isEmpty ? "same commits" : range.joined(separator: ", ")
        let title = "\(Self.subject(cell, varying: varying)) \(comparison.metric) \(Self.seconds(band.median)) → \(Self.seconds(comparison.seconds)) "
            + "(\(change >= 0 ? "+" : "")\(Int(change.rounded())) %, band ±\(Int(band.percent.rounded())) % over \(band.count) run\(band.count == 1 ? "" : "s")), \(commits)"
        let detail = [
            "this run: \(Self.seconds(comparison.seconds)), re-boot in the same run: \(Self.seconds(confirmed)) [\(runID)/\(cell.cellID)]",
            "band: \(Self.seconds(band.lower))–\(Self.seconds(band.upper)) (median \(Self.seconds(band.median)) of \(band.count) earlier result\(band.count == 1 ? "" : "s") on this host and backend, same configuration)",
        ].joined(separator: "\n")
        let verdict = FindingsAnalyzer.verdict(cell, runID: runID, label: "this run")
        return Finding(
            kind: comparison.slower ? .slower : .faster, title: title, cellIDs: [cell.cellID], verdicts: [verdict], commits: changes,
            vmcsDiff: nil, detail: detail)
    }

    /// `xmhf-lhv O3/i386`, plus ` (smp=2)` for other keys that vary within the run.
    static func subject(_ cell: CellResult, varying: Set<String>) -> String {
        let qualifiers = varying.subtracting(["chain", "opt", "bits"]).sorted().compactMap { key in cell.values[key].map { "\(key)=\($0)" } }
        return "\(cell.chain) \(cell.values["opt"] ?? "?")/\(cell.values["bits"] ?? "?")" + (qualifiers.isEmpty ? "" : " (\(qualifiers.joined(separator: ", ")))")
    }

    static func varyingKeys(_ cells: [CellResult]) -> Set<String> {
        var seen: [String: Set<String>] = [:]
        for cell in cells { for (key, value) in cell.values { seen[key, default: []].insert(value) } }
        return Set(seen.filter { $0.value.count > 1 }.keys)
    }

    /// `80 s`, `4.2 s`, `0.35 s`.
    public static func seconds(_ value: Double) -> String {
        if value >= 20 { return "\(Int(value.rounded())) s" }
        if value >= 1 { return String(format: "%.1f s", value) }
        return String(format: "%.2f s", value)
    }
}

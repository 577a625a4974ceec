import Foundation
import Matrix

/// The webhook's JSON when a run ends. `text` is one line for chat webhooks (Slack and
/// Mattermost show `text`); the other fields are for programs.
public struct RunNotification: Sendable, Codable, Equatable {
    public var event: String
    public var text: String
    public var run: String
    public var matrix: String
    public var trigger: String
    public var started: Date
    public var finished: Date?
    /// Outcome (`PASS`, `FAIL`, ...) → cells.
    public var counts: [String: Int]
    public var findings: [DashboardFinding]
    /// The run's dashboard page, when the service knows its public address.
    public var url: String?
    /// For `bisect.finished`: the bisect record (culprit, confidence, every step).
    public var bisect: BisectRecord? = nil

    /// `dashboardURL` is the dashboard's public base address (`https://ci.example.org/nestci/`).
    public init(run: DashboardRun, dashboardURL: URL? = nil) {
        event = "run.finished"
        self.run = run.id
        matrix = run.matrix
        trigger = run.trigger
        started = run.started
        finished = run.finished
        counts = Dictionary(uniqueKeysWithValues: run.counts.map { ($0.key.rawValue, $0.value) })
        findings = run.findings
        url = dashboardURL.map { $0.appendingPathComponent("\(Dashboard.runFolder(run.id))/index.html").absoluteString }
        let tally = Outcome.allCases.compactMap { outcome in run.counts[outcome].map { "\($0) \(outcome.rawValue)" } }.joined(separator: ", ")
        var line = "\(run.matrix) \(run.id): \(tally.isEmpty ? "no cells" : tally)"
        if let first = run.findings.first {
            line += " · \(run.findings.count == 1 ? "finding" : "\(run.findings.count) findings"): \(first.headline)"
            // The culprit field where chat shows it, not only in `findings[].detail`.
            if let headline = first.vmcsHeadline { line += " · \(headline)" }
        }
        // A regression already bisected when the run is reported (a re-run) says its culprit.
        if let record = run.findings.first?.bisect, record.culprit != nil { line += " · \(record.resultLine)" }
        if let url { line += " · \(url)" }
        text = line
    }

    /// `bisect.finished`: posted when the service's bisect of a run's regression ends, with
    /// the run's finding (its `bisect` set) so chat shows the culprit.
    public init(bisect record: BisectRecord, run: DashboardRun, dashboardURL: URL? = nil) {
        self.init(run: run, dashboardURL: dashboardURL)
        event = "bisect.finished"
        bisect = record
        findings = run.findings.filter { $0.cellIDs.contains(record.cellID) }
        text = "\(run.matrix) \(run.id) \(record.cellID): \(record.resultLine)" + (url.map { " · \($0)" } ?? "")
    }
}

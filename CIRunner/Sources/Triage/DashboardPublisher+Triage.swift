extension DashboardPublisher {
    /// Each -O finding with the newest triage of one of its cells (its flags, units and
    /// cost lines), so the run page and the webhook payload carry it.
    static func withTriages(_ findings: [DashboardFinding], _ triages: [TriageRecord]) -> [DashboardFinding] {
        guard !triages.isEmpty else { return findings }
        return findings.map { finding in
            guard finding.kind == .optOnly, let triage = triages.last(where: { finding.cellIDs.contains($0.cellID) }) else { return finding }
            var finding = finding
            finding.triage = triage.summaryLines
            return finding
        }
    }
}

extension TriageRecord {
    /// The lines the dashboard and the webhook show: `-O triage (finished): …`, flags, units, cost.
    public var summaryLines: [String] {
        ["-O triage (\(status.rawValue)): " + flagsSentence, unitsSentence, "cost: " + costSentence + " (investigation run \(investigationRunID))"]
    }
}

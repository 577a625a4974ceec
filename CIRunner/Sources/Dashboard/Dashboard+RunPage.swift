import Foundation
import Matrix

extension Dashboard {
    /// `runs/<run>/index.json`.
    struct RunJSON: Codable {
        var run: DashboardRun
        var counts: [String: Int]
        /// Cell id → its page, relative to this file.
        var cellPages: [String: String]
    }

    func writeRun(_ run: DashboardRun, history: [String: DashboardCellHistory], published: Set<String>) throws {
        let folder = Self.runFolder(run.id)
        let flagged = Set(run.findings.flatMap(\.cellIDs))
        var body = "<h1>\(HTML.escape(run.matrix)) · run \(HTML.escape(run.id))</h1>\n"
        body += "<div class=\"meta\"><span>trigger <b>\(HTML.escape(run.trigger))</b></span>"
        body += "<span>started <b>\(HTML.date(run.started))</b></span>"
        let took = run.finished.map { "took <b>\(HTML.duration($0.timeIntervalSince(run.started)))</b>" }
        switch run.status {
        case .interrupted: body += "<span><b>interrupted</b>\(took.map { ", \($0)" } ?? "") · \(run.cells.count) cells recorded</span>"
        case .running: body += "<span><b>still running</b></span>"
        case .finished: body += "<span>\(took ?? "<b>finished</b>")</span>"
        }
        for (name, commit) in run.commits.sorted(by: { $0.key < $1.key }) {
            body += "<span>\(HTML.escape(name)) <b class=\"mono\">\(HTML.commit(commit, component: name, templates: run.commitURLs))</b></span>"
        }
        if run.artifactsPruned { body += "<span class=\"pruned\">artifacts pruned (retention): results only</span>" }
        body += "</div>\n<div class=\"pills\">"
        let counts = run.counts
        for outcome in Outcome.allCases { if let count = counts[outcome] { body += "<span class=\"badge \(HTML.outcomeClass(outcome))\">\(count) \(outcome.rawValue)</span>" } }
        body += "</div>\n"

        let cellIDs = Set(run.cells.map(\.cellID))
        // New findings first, known issues apart: the morning's reading is the new ones.
        let new = run.findings.filter { $0.known == nil }, known = run.findings.filter { $0.known != nil }
        if !new.isEmpty {
            body += "<h2 id=\"findings\">Findings</h2>\n" + findingsHTML(new, cellIDs: cellIDs, templates: run.commitURLs)
        }
        if !known.isEmpty {
            body += "<h2 id=\"known\">Known issues</h2>\n" + findingsHTML(known, cellIDs: cellIDs, templates: run.commitURLs)
        }

        body += "<h2>Matrix</h2>\n" + gridHTML(RunGrid(run.cells), flagged: flagged)
        body += "<p class=\"legend\">" + Outcome.allCases.map { "\(HTML.badge($0))" }.joined() + " · outlined: named in a finding</p>"
        let bars = PerformanceCharts.cellTimes(run.cells)
        if !bars.isEmpty { body += "\n<h2>Seconds to the verdict</h2>\n" + bars }

        try write(
            HTML.page(title: "\(run.matrix) \(run.id) · \(title)", root: "../../", breadcrumbs: [("runs", "../../index.html"), (run.id, nil)], body: body),
            to: "\(folder)/index.html")
        // Store paths of evidence stay private; the cell pages link the copies.
        var forJSON = run
        forJSON.evidence = [:]
        var pages: [String: String] = [:]
        for cell in run.cells { pages[cell.cellID] = "\(Self.folderName(cell.cellID))/index.html" }
        try write(
            Self.jsonEncoder().encode(RunJSON(run: forJSON, counts: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }), cellPages: pages)),
            to: "\(folder)/index.json")

        for cell in run.cells {
            try writeCell(cell, run: run, history: history[DashboardCellHistory.key(matrix: run.matrix, cellID: cell.cellID)], published: published)
        }
    }

    private func findingsHTML(_ findings: [DashboardFinding], cellIDs: Set<String>, templates: [String: String]) -> String {
        var body = "<ul class=\"findings\">\n"
        for finding in findings {
            let links = finding.cellIDs.filter(cellIDs.contains).map { id in
                "<a href=\"\(Self.folderName(id))/index.html\" class=\"mono\">\(HTML.escape(id))</a>"
            }.joined(separator: " ")
            body += "<li class=\"k-\(finding.known == nil ? finding.kind.rawValue : "known")\"><span class=\"kind\">\(HTML.escape(finding.kind.rawValue))</span>"
            if let link = finding.known { body += "<span class=\"known\">known: \(HTML.link(link))</span> " }
            body += "<b>\(HTML.escape(finding.title))</b>"
            if !links.isEmpty { body += " · \(links)" }
            if let headline = finding.vmcsHeadline { body += "<br><span class=\"mono\">\(HTML.escape(headline))</span>" }
            if let record = finding.bisect {
                let page = cellIDs.contains(record.cellID) ? "\(Self.folderName(record.cellID))/index.html" : nil
                body += Self.bisectSummaryHTML(record, templates: templates, cellPage: page)
            }
            if let triage = finding.triage { body += "<div class=\"triage\">" + triage.map(HTML.escape).joined(separator: "<br>") + "</div>" }
            if !finding.detail.isEmpty { body += "<pre>\(HTML.escape(finding.detail))</pre>" }
            body += "</li>\n"
        }
        return body + "</ul>\n"
    }

    private func gridHTML(_ grid: RunGrid, flagged: Set<String>) -> String {
        guard !grid.columns.isEmpty else { return "<p class=\"note\">This run has no cells.</p>" }
        let extraKeys = Array(Set(grid.rows.flatMap(\.extra.keys))).sorted()
        let rowHeaders = ["chain", "smp", "backend"] + extraKeys
        var out = "<table class=\"grid\">\n<tr>"
        out += rowHeaders.map { "<th class=\"axis\" rowspan=\"2\">\(HTML.escape($0))</th>" }.joined()
        for group in grid.bitsGroups { out += "<th class=\"axis\" colspan=\"\(group.span)\">\(HTML.escape(group.bits))</th>" }
        out += "</tr>\n<tr>" + grid.columns.map { "<th class=\"axis\">-\(HTML.escape($0.opt))</th>" }.joined() + "</tr>\n"
        for row in grid.rows {
            let components = row.components == row.chain ? "" : "<small>\(HTML.escape(row.components))</small>"
            out += "<tr><th class=\"row\">\(HTML.escape(row.chain))\(components)</th>"
            out += "<th class=\"row\">\(row.smp)</th><th class=\"row\">\(HTML.escape(row.backend))</th>"
            out += extraKeys.map { "<th class=\"row\">\(HTML.escape(row.extra[$0] ?? "–"))</th>" }.joined()
            for column in grid.columns {
                guard let cell = grid.cell(row, column) else {
                    out += "<td class=\"empty\" title=\"not in this run\"></td>"
                    continue
                }
                // Time to verdict says something for boots that judged the hypervisor; for
                // the others the rule (no-vmx, build, infra) says more.
                let judged: Set<Outcome> = [.pass, .fail, .timeout, .flaky]
                let seconds = judged.contains(cell.outcome) ? cell.secondsToVerdict ?? (cell.bootSeconds > 0 ? cell.bootSeconds : nil) : nil
                let tip = "\(cell.levels) · \(cell.rule): \(cell.reason)"
                out += "<td class=\"cell \(HTML.outcomeClass(cell.outcome))\(flagged.contains(cell.cellID) ? " flagged" : "")\">"
                out += "<a href=\"\(Self.folderName(cell.cellID))/index.html\" title=\"\(HTML.escape(tip))\">\(cell.outcome.rawValue)"
                out += "<small>\(seconds.map { HTML.duration($0) } ?? HTML.escape(cell.rule))</small></a></td>"
            }
            out += "</tr>\n"
        }
        return out + "</table>\n"
    }
}

import Foundation
import Matrix

extension Dashboard {
    /// `index.json`: what the index page shows, for machines.
    struct IndexJSON: Codable {
        struct Run: Codable {
            var id: String
            var matrix: String
            var trigger: String
            var started: Date
            var finished: Date?
            var status: RunStatus
            var commits: [String: String]
            var counts: [String: Int]
            var findings: Int
            var artifactsPruned: Bool
            /// Relative to this file.
            var page: String
            var json: String
        }
        var title: String
        var generated: Date
        var runs: [Run]
    }

    func writeIndex(_ runs: [DashboardRun]) throws {
        var rows = ""
        for run in runs {
            let folder = Self.runFolder(run.id)
            let counts = run.counts
            let pills = Outcome.allCases.compactMap { outcome in
                counts[outcome].map { "<span class=\"badge \(HTML.outcomeClass(outcome))\" title=\"\(outcome.rawValue)\">\($0) \(outcome.rawValue)</span>" }
            }.joined()
            let commits = run.commits.sorted { $0.key < $1.key }.map { "\(HTML.escape($0.key)) <code>\(HTML.escape(HTML.short($0.value)))</code>" }
                .joined(separator: "<br>")
            var duration = run.finished.map { HTML.duration($0.timeIntervalSince(run.started)) } ?? "running"
            if run.status == .interrupted { duration = "interrupted" + (run.finished.map { " after \(HTML.duration($0.timeIntervalSince(run.started)))" } ?? "") }
            let findings = run.findings.isEmpty ? "<span class=\"note\">–</span>" : "<a href=\"\(folder)/index.html#findings\">\(run.findings.count)</a>"
            rows += """
                <tr><td><a href="\(folder)/index.html"><b>\(HTML.escape(run.id))</b></a>\(run.artifactsPruned ? "<br><span class=\"pruned\">artifacts pruned</span>" : "")</td>
                <td>\(HTML.escape(run.matrix))</td><td>\(HTML.escape(run.trigger))</td>
                <td class="mono">\(commits.isEmpty ? "–" : commits)</td>
                <td>\(HTML.date(run.started))<br><small class="note">\(duration)</small></td>
                <td class="pills">\(pills)</td><td class="num">\(findings)</td></tr>\n
                """
        }
        let body: String
        if runs.isEmpty {
            body = "<h1>\(HTML.escape(title))</h1><p class=\"sub\">No runs yet. The first scheduled or triggered run appears here.</p>"
        } else {
            body = """
                <h1>\(HTML.escape(title))</h1>
                <p class="sub">\(runs.count) run\(runs.count == 1 ? "" : "s"), newest first</p>
                <table class="list">
                <tr><th>run</th><th>matrix</th><th>trigger</th><th>commits</th><th>started</th><th>cells</th><th>findings</th></tr>
                \(rows)</table>
                """
        }
        try write(HTML.page(title: title, root: "", breadcrumbs: [("runs", nil)], body: body), to: "index.html")
        let json = IndexJSON(
            title: title, generated: Date(),
            runs: runs.map { run in
                IndexJSON.Run(
                    id: run.id, matrix: run.matrix, trigger: run.trigger, started: run.started, finished: run.finished,
                    status: run.status, commits: run.commits, counts: Dictionary(uniqueKeysWithValues: run.counts.map { ($0.key.rawValue, $0.value) }),
                    findings: run.findings.count, artifactsPruned: run.artifactsPruned,
                    page: "\(Self.runFolder(run.id))/index.html", json: "\(Self.runFolder(run.id))/index.json")
            })
        try write(Self.jsonEncoder().encode(json), to: "index.json")
    }
}

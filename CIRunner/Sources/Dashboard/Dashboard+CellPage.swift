import Foundation
import Matrix

extension Dashboard {
    /// `runs/<run>/<cell>/index.json`.
    struct CellJSON: Codable {
        struct Tail: Codable {
            var firstLine: Int
            var totalLines: Int
            var lines: [String]
        }
        var runID: String
        var matrix: String
        var result: CellResult
        var artifactsPruned: Bool
        /// Artifact name → file, relative to this file.
        var files: [String: String]
        var serialTail: Tail?
        var vmcsDiff: String?
        var o0SiblingID: String?
        var history: [DashboardCellHistory.Entry]
    }

    func writeCell(_ cell: CellResult, run: DashboardRun, history: DashboardCellHistory?, published: Set<String>) throws {
        let folder = Self.cellFolder(run.id, cell.cellID)
        let evidence = run.evidence[cell.cellID] ?? DashboardCellEvidence()
        let runCells = Set(run.cells.map(\.cellID))

        // Evidence files into the cell's folder; only what was placed gets a link.
        var files: [String: String] = [:]
        if run.artifactsPruned {
            removeArtifacts(in: folder)
        } else {
            if let source = evidence.serialLog, place(source, at: "\(folder)/serial.log") { files["serial log"] = "serial.log" }
            if let source = evidence.vmcsJSON, place(source, at: "\(folder)/vmcs.json") { files["VMCS dumps (JSON)"] = "vmcs.json" }
            if let source = evidence.reproduceScript, place(source, at: "\(folder)/reproduce.sh") { files["reproduce.sh"] = "reproduce.sh" }
            for (name, source) in evidence.buildLogs.sorted(by: { $0.key < $1.key }) {
                let file = "build-\(Self.folderName(name)).log"
                if place(source, at: "\(folder)/\(file)") { files["build log \(name)"] = file }
            }
        }

        var body = "<h1>\(HTML.escape(cell.levels))</h1>\n"
        body += "<p class=\"sub\">cell <span class=\"mono\">\(HTML.escape(cell.cellID))</span> of run <a href=\"../index.html\">\(HTML.escape(run.id))</a> (\(HTML.escape(run.matrix)))</p>\n"
        let deciding = evidence.decidingLine ?? cell.reason
        body += "<div class=\"verdict\">\(HTML.badge(cell.outcome))<div><div>rule <b>\(HTML.escape(cell.rule))</b>"
        if let line = cell.line { body += " · serial line <b>\(line)</b>" }
        if let seconds = cell.secondsToVerdict { body += " · after \(HTML.duration(seconds))" }
        if cell.attempts > 1 { body += " · \(cell.attempts) attempts" }
        body += "</div><div class=\"why\">\(HTML.escape(deciding))</div>"
        if evidence.decidingLine != nil, cell.reason != deciding { body += "<div class=\"note\">\(HTML.escape(cell.reason))</div>" }
        body += "</div></div>\n"

        body += "<div class=\"meta\">"
        for (key, value) in cell.values.sorted(by: { $0.key < $1.key }) { body += "<span>\(HTML.escape(key)) <b>\(HTML.escape(value))</b></span>" }
        for (name, commit) in cell.commits.sorted(by: { $0.key < $1.key }) {
            body += "<span>\(HTML.escape(name)) <b class=\"mono\">\(HTML.commit(commit, component: name, templates: run.commitURLs))</b></span>"
        }
        if cell.bootSeconds > 0 { body += "<span>booted for <b>\(HTML.duration(cell.bootSeconds))</b></span>" }
        body += "</div>\n"
        if let record = run.findings.compactMap(\.bisect).last(where: { $0.cellID == cell.cellID }) {
            body += Self.bisectStepsHTML(record, templates: run.commitURLs, root: "../../")
        }

        if let milestones = cell.milestones, !milestones.isEmpty {
            body += "<h2>Timeline of this boot</h2>\n" + PerformanceCharts.timeline(milestones)
        }

        body += "<h2>Evidence</h2>\n"
        if run.artifactsPruned {
            body += "<p><span class=\"pruned\">artifacts pruned</span> <span class=\"note\">Retention removed this run's logs and dumps; the verdict above is kept.</span></p>\n"
        } else if files.isEmpty {
            body += "<p class=\"note\">No files were kept for this cell.</p>\n"
        } else {
            body += "<p class=\"files\">" + files.sorted { $0.key < $1.key }.map { "<a href=\"\($0.value)\">\(HTML.escape($0.key))</a>" }.joined() + "</p>\n"
        }

        var tailJSON: CellJSON.Tail?
        if files["serial log"] != nil, let tail = LogTail.read(path("\(folder)/serial.log"), lines: Self.tailLines) {
            tailJSON = CellJSON.Tail(firstLine: tail.firstLineNumber, totalLines: tail.totalLines, lines: tail.lines.map(String.init))
            body += "<h2>Serial log, last \(tail.lines.count) of \(tail.totalLines) lines</h2>\n<pre class=\"log\">"
            for (offset, line) in tail.lines.enumerated() {
                let number = tail.firstLineNumber + offset
                let text = "<span class=\"n\">\(number)</span>\(HTML.escape(line))"
                body += number == cell.line ? "<span class=\"hit\">\(text)</span>\n" : "\(text)\n"
            }
            body += "</pre>\n<p><a href=\"serial.log\">full serial log</a></p>\n"
        }

        if files["VMCS dumps (JSON)"] != nil, let tables = VMCSTables.read(path("\(folder)/vmcs.json")) {
            body += "<h2>VMCS dumps</h2>\n" + tables.html()
        }
        if let diff = evidence.vmcsDiff, !diff.isEmpty {
            var heading = "VMCS diff against -O0"
            if let sibling = evidence.o0SiblingID, runCells.contains(sibling) {
                heading += " (<a href=\"../\(Self.folderName(sibling))/index.html\" class=\"mono\">\(HTML.escape(sibling))</a>)"
            }
            body += "<h2>\(heading)</h2>\n<pre>\(HTML.escape(diff))</pre>\n"
        }

        let entries = history?.entries ?? []
        if !entries.isEmpty {
            body += "<h2>History of this cell</h2>\n" + PerformanceCharts.history(entries)
            body += "<table class=\"list\"><tr><th>run</th><th>started</th><th>outcome</th></tr>\n"
            for entry in entries {
                let runFolder = Self.folderName(entry.runID)
                var name = HTML.escape(entry.runID)
                if entry.runID == run.id {
                    name = "<b>\(name)</b> (this run)"
                } else if published.contains(runFolder) {
                    name = "<a href=\"../../\(runFolder)/\(Self.folderName(cell.cellID))/index.html\">\(name)</a>"
                }
                if entry.pruned { name += " <span class=\"pruned\">artifacts pruned</span>" }
                body += "<tr><td>\(name)</td><td>\(HTML.date(entry.started))</td><td>\(HTML.badge(entry.outcome))</td></tr>\n"
            }
            body += "</table>\n"
        }

        let page = HTML.page(
            title: "\(cell.outcome.rawValue) \(cell.levels) · \(run.id)", root: "../../../",
            breadcrumbs: [("runs", "../../../index.html"), (run.id, "../index.html"), (cell.cellID, nil)], body: body)
        try write(page, to: "\(folder)/index.html")
        let json = CellJSON(
            runID: run.id, matrix: run.matrix, result: cell, artifactsPruned: run.artifactsPruned, files: files, serialTail: tailJSON,
            vmcsDiff: evidence.vmcsDiff, o0SiblingID: evidence.o0SiblingID, history: entries)
        try write(Self.jsonEncoder().encode(json), to: "\(folder)/index.json")
    }
}

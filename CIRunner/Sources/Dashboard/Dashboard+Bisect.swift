import Foundation
import Matrix

/// How a bisect shows on the dashboard: its result on the regression it explains, and every
/// step on the bisected cell's page. Every value (commits, subjects, authors, signatures)
/// comes from a repository or a guest, so each is escaped.
extension Dashboard {
    /// `bisect (finished): first bad commit xmhf64 3c6192e "subject" (author, date) · confidence 0.99 · 7 steps, 9 builds, 11 boots · steps`.
    static func bisectSummaryHTML(_ record: BisectRecord, templates: [String: String], cellPage: String?) -> String {
        var out = "<div class=\"bisect\">bisect <b>\(HTML.escape(record.status.rawValue))</b>"
        if let culprit = record.culprit, record.status == .finished {
            out += ": first bad commit \(HTML.escape(record.component)) <b class=\"mono\">\(HTML.commit(culprit.commit, component: record.component, templates: templates))</b>"
            out += " “\(HTML.escape(culprit.subject))” (\(HTML.escape(culprit.author)), \(HTML.escape(culprit.date)))"
        } else if let note = record.notes.last {
            out += ": \(HTML.escape(note))"
        }
        if let confidence = record.confidence { out += " · confidence <b>\(String(format: "%.2f", confidence))</b>" }
        out += " · \(record.stepCount) steps, \(record.builds + record.cachedBuilds) builds (\(record.cachedBuilds) cached), \(record.boots) boots"
        if let cellPage { out += " · <a href=\"\(HTML.escape(cellPage))#bisect\">steps</a>" }
        return out + "</div>"
    }

    /// The steps table: commit, purpose, verdict, boots' outcomes, signature, and links to
    /// each boot's cell page in the investigation run. `root` leads to the `runs/` folder.
    static func bisectStepsHTML(_ record: BisectRecord, templates: [String: String], root: String) -> String {
        var out = "<h2 id=\"bisect\">Bisect of \(HTML.escape(record.component)) \(HTML.escape(HTML.short(record.good)))..\(HTML.escape(HTML.short(record.bad)))</h2>\n"
        out += "<p>" + bisectSummaryHTML(record, templates: templates, cellPage: nil) + "</p>\n"
        out += "<p class=\"note\">signature: <span class=\"mono\">\(HTML.escape(record.signature.description))</span> · \(record.bootsPerStep) boot(s) a step: \(HTML.escape(record.bootsReason))</p>\n"
        out += "<table class=\"steps\">\n<tr><th>#</th><th>commit</th><th>purpose</th><th>verdict</th><th>boots</th><th>signature</th><th>results</th></tr>\n"
        for (index, step) in record.steps.enumerated() {
            let culprit = record.culprit?.commit == step.commit ? " class=\"culprit\"" : ""
            let links = step.cellIDs.enumerated().map { number, cellID in
                "<a href=\"\(root)\(folderName(step.runID))/\(folderName(cellID))/index.html\">\(number + 1)</a>"
            }.joined(separator: " ")
            out += "<tr\(culprit)><td>\(index + 1)</td><td class=\"mono\">\(HTML.commit(step.commit, component: record.component, templates: templates))</td>"
            out += "<td>\(HTML.escape(step.purpose.rawValue))</td><td>\(HTML.escape(step.verdict))\(step.note.map { "<br><small>\(HTML.escape($0))</small>" } ?? "")</td>"
            out += "<td>" + step.outcomes.map { HTML.badge($0) }.joined() + "</td>"
            out += "<td class=\"mono\">\(HTML.escape(step.signature?.description ?? "–"))</td><td>\(links.isEmpty ? "–" : links)</td></tr>\n"
        }
        for note in record.notes { out += "<tr><td colspan=\"7\" class=\"note\">\(HTML.escape(note))</td></tr>\n" }
        return out + "</table>\n"
    }
}

import Foundation

/// Reads `vmcs.json` (the evidence store's `VMCSDumpSet`) just far enough to show it as
/// tables. Tolerant on purpose: unknown keys are ignored and missing ones left blank, so a
/// newer dump format still renders rather than failing the whole dashboard.
struct VMCSTables: Decodable {
    struct Dump: Decodable {
        var cpu: Int?
        var kind: String?
        var occurrence: Int?
        var introducedBy: Line?
        var fields: [Field]?
    }

    struct Line: Decodable {
        var number: Int?
        var text: String?
    }

    struct Field: Decodable {
        var encoding: String?
        var printedName: String?
        var sdmName: String?
        var prefix: String?
        var value: String?
        var lineNumber: Int?
    }

    var dumps: [Dump]?
    var malformedLines: Int?

    static func read(_ path: String) -> VMCSTables? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(VMCSTables.self, from: data)
    }

    /// Each dump as a titled table.
    func html(limit: Int = 400) -> String {
        guard let dumps, !dumps.isEmpty else { return "<p class=\"note\">vmcs.json holds no dumps.</p>" }
        var out = ""
        var shown = 0
        for dump in dumps {
            var title = "\(dump.kind ?? "VMCS") of CPU \(dump.cpu.map(String.init) ?? "?"), dump #\((dump.occurrence ?? 0) + 1)"
            if let first = dump.fields?.first?.lineNumber { title += " (line \(first))" }
            out += "<details\(shown == 0 ? " open" : "")><summary>\(HTML.escape(title)) · \(dump.fields?.count ?? 0) fields"
            if let intro = dump.introducedBy?.text { out += " · after <code>\(HTML.escape(intro))</code>" }
            out += "</summary>\n<table class=\"vmcs\"><tr><th>encoding</th><th>field</th><th>value</th><th>line</th></tr>\n"
            for field in dump.fields ?? [] {
                guard shown < limit else { break }
                shown += 1
                let name = field.sdmName ?? field.printedName ?? ""
                let printed = field.printedName.map { $0 != name ? " <small class=\"note\">(\(HTML.escape((field.prefix ?? "") + $0)))</small>" : "" } ?? ""
                out += "<tr><td class=\"mono\">\(HTML.escape(field.encoding ?? ""))</td><td>\(HTML.escape(name))\(printed)</td>"
                out += "<td class=\"value\">\(HTML.escape(field.value ?? ""))</td><td class=\"mono\">\(field.lineNumber.map(String.init) ?? "")</td></tr>\n"
            }
            out += "</table></details>\n"
        }
        if shown >= limit { out += "<p class=\"note\">Only the first \(limit) fields are shown; vmcs.json has them all.</p>" }
        if let malformed = malformedLines, malformed > 0 {
            out += "<p class=\"note\">\(malformed) dump-like lines could not be read (see the serial log).</p>"
        }
        return out
    }
}

import Foundation
import Matrix

/// The dashboard's charts as inline SVG: drawn by nestci, no script, readable from
/// `file://`. Every label from a matrix, a repository or a guest goes through
/// ``HTML/escape(_:)``; numbers are formatted here.
enum PerformanceCharts {
    /// The outcome colours of the badges (DashboardStyle), for SVG fills.
    static func fill(_ outcome: Outcome) -> String {
        switch outcome {
        case .pass: "#2e9e4f"
        case .fail: "#d93a3a"
        case .timeout: "#f08c1a"
        case .buildFail: "#7a1010"
        case .infra: "#808897"
        case .skip: "#d9dde4"
        case .flaky: "#f3cf2f"
        }
    }

    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A boot's milestones on one time axis, labels alternating above and below.
    static func timeline(_ milestones: [MilestoneTime]) -> String {
        guard let last = milestones.map(\.seconds).max(), last > 0 else { return "" }
        let width = 760.0, left = 20.0, right = 40.0, axis = 62.0
        let scale = (width - left - right) / last
        var svg = "<svg class=\"chart timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"124\" viewBox=\"0 0 \(Int(width)) 124\" role=\"img\">"
        svg += "<title>milestones of this boot, seconds from its start</title>"
        svg += "<line x1=\"\(number(left))\" y1=\"\(axis)\" x2=\"\(number(width - right))\" y2=\"\(axis)\" stroke=\"#8a93a3\" stroke-width=\"2\"/>"
        for (index, milestone) in milestones.enumerated() {
            let x = left + milestone.seconds * scale
            let above = index % 2 == 0
            let labelY = above ? axis - 22 : axis + 32
            let anchor = x > width - 120 ? "end" : (x < 80 ? "start" : "middle")
            svg += "<line x1=\"\(number(x))\" y1=\"\(axis - 8)\" x2=\"\(number(x))\" y2=\"\(axis + 8)\" stroke=\"#3b4250\" stroke-width=\"1.5\"/>"
            svg += "<circle cx=\"\(number(x))\" cy=\"\(axis)\" r=\"5\" fill=\"\(milestone.name == MilestoneTime.verdict ? "#2f6fdb" : "#3b4250")\"/>"
            svg += "<text x=\"\(number(x))\" y=\"\(number(labelY))\" text-anchor=\"\(anchor)\" font-size=\"12\">\(HTML.escape(milestone.name))</text>"
            svg += "<text x=\"\(number(x))\" y=\"\(number(labelY + 14))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#5d6675\">\(HTML.escape(PerformanceAnalyzer.seconds(milestone.seconds)))</text>"
        }
        return svg + "</svg>\n"
    }

    /// One cell across runs, oldest left: an outcome strip, then seconds to the verdict per
    /// run (PASS points joined), with the band of the PASS results shaded.
    static func history(_ entries: [DashboardCellHistory.Entry]) -> String {
        let runs = entries.sorted { $0.started < $1.started }
        guard runs.count > 1 else { return "" }
        let width = 760.0, left = 48.0, right = 12.0, stripY = 8.0, stripHeight = 14.0, top = 34.0, bottom = 150.0
        let step = (width - left - right) / Double(runs.count)
        let times = runs.compactMap(\.seconds)
        let passTimes = runs.filter { $0.outcome == .pass || $0.outcome == .flaky }.compactMap(\.seconds)
        let band = PerformanceBand(passTimes, rules: PerformanceRules())
        let maximum = max(times.max() ?? 1, band?.upper ?? 0, 0.001) * 1.1
        func y(_ seconds: Double) -> Double { bottom - seconds / maximum * (bottom - top) }
        var svg = "<svg class=\"chart history\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"176\" viewBox=\"0 0 \(Int(width)) 176\" role=\"img\">"
        svg += "<title>outcome per run, and seconds to the verdict with the band of the passing runs</title>"
        if let band {
            svg += "<rect x=\"\(number(left))\" y=\"\(number(y(band.upper)))\" width=\"\(number(width - left - right))\" height=\"\(number(max(1, y(band.lower) - y(band.upper))))\" fill=\"#2e9e4f\" fill-opacity=\"0.14\"><title>band: \(HTML.escape(PerformanceAnalyzer.seconds(band.lower)))–\(HTML.escape(PerformanceAnalyzer.seconds(band.upper)))</title></rect>"
            svg += "<line x1=\"\(number(left))\" y1=\"\(number(y(band.median)))\" x2=\"\(number(width - right))\" y2=\"\(number(y(band.median)))\" stroke=\"#2e9e4f\" stroke-dasharray=\"4 3\"/>"
        }
        svg += "<line x1=\"\(number(left))\" y1=\"\(bottom)\" x2=\"\(number(width - right))\" y2=\"\(bottom)\" stroke=\"#8a93a3\"/>"
        svg += "<text x=\"\(number(left - 6))\" y=\"\(number(top + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#5d6675\">\(HTML.escape(PerformanceAnalyzer.seconds(maximum)))</text>"
        svg += "<text x=\"\(number(left - 6))\" y=\"\(bottom)\" text-anchor=\"end\" font-size=\"11\" fill=\"#5d6675\">0 s</text>"
        var points: [String] = []
        for (index, run) in runs.enumerated() {
            let x = left + step * Double(index)
            let label = "\(run.runID): \(run.outcome.rawValue)" + (run.seconds.map { ", \(PerformanceAnalyzer.seconds($0))" } ?? "")
            svg += "<rect x=\"\(number(x + 1))\" y=\"\(stripY)\" width=\"\(number(max(1, step - 2)))\" height=\"\(stripHeight)\" fill=\"\(fill(run.outcome))\"><title>\(HTML.escape(label))</title></rect>"
            guard let seconds = run.seconds else { continue }
            let cx = x + step / 2
            let passed = run.outcome == .pass || run.outcome == .flaky
            if passed { points.append("\(number(cx)),\(number(y(seconds)))") }
            svg += "<circle cx=\"\(number(cx))\" cy=\"\(number(y(seconds)))\" r=\"3.5\" fill=\"\(fill(run.outcome))\" stroke=\"#1d2330\" stroke-width=\"0.6\"><title>\(HTML.escape(label))</title></circle>"
        }
        if points.count > 1 { svg += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#2e9e4f\" stroke-width=\"1.5\"/>" }
        svg += "<text x=\"\(number(left))\" y=\"170\" font-size=\"11\" fill=\"#5d6675\">\(runs.count) runs, oldest left; shaded: median ± band of the passing runs</text>"
        return svg + "</svg>\n"
    }

    /// A run's cells as horizontal bars of seconds to the verdict, longest first.
    static func cellTimes(_ cells: [CellResult]) -> String {
        let timed = cells.compactMap { cell in cell.secondsToVerdict.map { (cell, $0) } }.sorted { $0.1 > $1.1 }
        guard let longest = timed.first?.1, longest > 0 else { return "" }
        let width = 760.0, label = 250.0, right = 60.0, row = 18.0
        let height = Double(timed.count) * row + 8
        var svg = "<svg class=\"chart bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        svg += "<title>seconds to the verdict per cell</title>"
        for (index, (cell, seconds)) in timed.enumerated() {
            let y = 4 + Double(index) * row
            let length = max(1, seconds / longest * (width - label - right))
            let name = "\(cell.chain) \(cell.values["opt"] ?? "") \(cell.values["bits"] ?? "") smp\(cell.smp) \(cell.backend)"
            svg += "<a href=\"\(HTML.escape(Dashboard.folderName(cell.cellID)))/index.html\">"
            svg += "<text x=\"\(number(label - 6))\" y=\"\(number(y + 12))\" text-anchor=\"end\" font-size=\"11.5\">\(HTML.escape(name))</text>"
            svg += "<rect x=\"\(number(label))\" y=\"\(number(y + 2))\" width=\"\(number(length))\" height=\"\(number(row - 5))\" fill=\"\(fill(cell.outcome))\"><title>\(HTML.escape("\(cell.cellID): \(cell.outcome.rawValue), \(PerformanceAnalyzer.seconds(seconds))"))</title></rect>"
            svg += "<text x=\"\(number(label + length + 5))\" y=\"\(number(y + 12))\" font-size=\"11\" fill=\"#5d6675\">\(HTML.escape(PerformanceAnalyzer.seconds(seconds)))</text></a>"
        }
        return svg + "</svg>\n"
    }
}

import Foundation
import Matrix

/// JUnit XML for CI dashboards: one test suite per run, one test case per cell, in plan
/// order (user-axis values as the matrix lists them).
public enum JUnitReport {
    public static func xml(_ results: RunResults) -> String {
        let failures = results.cells.filter { [.fail, .timeout, .buildFail, .flaky].contains($0.outcome) }.count
        let errors = results.cells.filter { $0.outcome == .infra }.count
        let skipped = results.cells.filter { $0.outcome == .skip }.count
        let total = results.cells.reduce(0) { $0 + $1.bootSeconds }
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            "<testsuites name=\"nestci\" tests=\"\(results.cells.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(format(total))\">",
            "  <testsuite name=\"\(escape(results.matrix))\" id=\"\(escape(results.runID))\" tests=\"\(results.cells.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(format(total))\" timestamp=\"\(ISO8601DateFormatter().string(from: results.started))\">",
        ]
        for cell in results.cells {
            // User axes too: without them two revisions' cases differed only in their id.
            let name = ([cell.levels, cell.backend, "smp\(cell.smp)"] + AxisValueOrder.userValues(cell.values) + ["[\(cell.cellID)]"])
                .joined(separator: " ")
            lines.append("    <testcase classname=\"\(escape(results.matrix)).\(escape(cell.chain))\" name=\"\(escape(name))\" time=\"\(format(cell.bootSeconds))\">")
            let message = escape("\(cell.outcome.rawValue): \(cell.reason)")
            switch cell.outcome {
            case .pass: break
            case .skip: lines.append("      <skipped message=\"\(message)\"/>")
            case .infra: lines.append("      <error type=\"INFRA\" message=\"\(message)\"/>")
            case .flaky: lines.append("      <failure type=\"FLAKY\" message=\"\(message)\">failed, then passed on a re-run</failure>")
            default:
                lines.append("      <failure type=\"\(cell.outcome.rawValue)\" message=\"\(message)\">\(escape(cell.line.map { "serial line \($0): " } ?? ""))\(escape(cell.reason))</failure>")
            }
            lines.append("    </testcase>")
        }
        lines += ["  </testsuite>", "</testsuites>", ""]
        return lines.joined(separator: "\n")
    }

    static func format(_ seconds: Double) -> String { String(format: "%.3f", seconds) }

    /// XML text and attribute escaping: the dashboard's, which also turns the control
    /// characters of a serial log (not allowed in XML 1.0) into visible symbols.
    static func escape(_ text: String) -> String { HTML.escape(text) }
}

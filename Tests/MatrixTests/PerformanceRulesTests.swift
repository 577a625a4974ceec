import Foundation
import Testing

@testable import Matrix

/// Issue 15: a chain's `milestones` and `performance` keys, validated with JSON paths.
@Suite("Matrix milestones and performance thresholds")
struct PerformanceRulesTests {
    static func matrix(_ chainExtra: String) -> String {
        MatrixFixtures.matrix(axes: ValidationTests.goodAxes).replacingOccurrences(
            of: #""alone": {"levels": [{"component": "guest"}], "verdict": {"pass": ["PASS"]}}"#,
            with: #""alone": {"levels": [{"component": "guest"}], "verdict": {"pass": ["PASS"]}, "# + chainExtra + "}")
    }

    @Test("milestones and thresholds reach the chain and its cells; they are not configuration")
    func parsed() throws {
        let text = Self.matrix(#""milestones": ["^banner", {"name": "runtime", "regex": "to runtime"}], "performance": {"history": 12, "minChangePercent": 5}"#)
        let matrix = try MatrixFile.parse(text, file: "m.json")
        let rules = try #require(matrix.chains["alone"]?.performance)
        #expect(rules.milestones == [Marker(name: "milestone[0]", regex: "^banner"), Marker(name: "runtime", regex: "to runtime")])
        #expect(rules.history == 12 && rules.minChangePercent == 5 && rules.band == 3 && rules.minHistory == 3)
        let cell = try #require(try matrix.plan().cells.first { $0.chain == "alone" })
        #expect(cell.performance == rules)
        let plain = try #require(try MatrixFile.parse(MatrixFixtures.matrix(axes: ValidationTests.goodAxes), file: "m.json").plan().cells.first { $0.chain == "alone" })
        #expect(cell.id == plain.id, "the cell's identity is untouched")
    }

    @Test("bad milestones and thresholds are reported with their JSON paths")
    func errors() {
        let issues = MatrixFixtures.issues(Self.matrix(
            #""milestones": ["(", {"name": "a", "regex": "x"}, {"name": "a", "regex": "y"}, {"regex": "z", "minPerCPU": 2}], "performance": {"history": 4, "minHistory": 6, "band": 0, "noise": 1}"#))
        #expect(issues.contains { $0.contains("chains.alone.milestones[0]: invalid regular expression \"(\"") })
        #expect(issues.contains { $0.contains("chains.alone.milestones[2]: duplicate milestone name \"a\"") })
        #expect(issues.contains { $0.contains("chains.alone.milestones[3].minPerCPU: unknown key \"minPerCPU\"") })
        #expect(issues.contains { $0.contains("chains.alone.performance.noise: unknown key \"noise\" in performance thresholds") })
        #expect(issues.contains { $0.contains("chains.alone.performance.band:") })
        #expect(issues.contains { $0.contains("chains.alone.performance.minHistory: minHistory 6 exceeds history 4") })
    }
}

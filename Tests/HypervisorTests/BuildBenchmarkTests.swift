import Foundation
import Testing

@testable import Hypervisor

@Suite("Build benchmark")
struct BuildBenchmarkTests {
    @Test("the benchmark builds each of its 4 keys once, then nothing", .enabled(if: Tool.exists("gcc") && Tool.exists("make")))
    func benchmark() async throws {
        let figures = try await BuildBenchmark.run()
        #expect(figures.requests == 12)
        #expect(figures.uniqueKeys == 4)
        #expect(figures.buildsRun == 4 && figures.buildsPerKey == 1.0)
        #expect(figures.warmBuildsRun == 0)
        #expect(figures.failedBuilds == 0)
        // The times themselves are the benchmark's to report (`nestci bench builds`), not a
        // test's to assert on a loaded machine.
        #expect(figures.cpuShare > 0)
        #expect(figures.description.contains("builds / unique keys = 1.00 (target 1.00)"))
        print(figures)
    }
}

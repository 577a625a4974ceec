import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// Issue 15 end to end under qemu-tcg: milestones recorded from a real serial stream, and
    /// a cell far faster than its (stored) history booted again and reported `faster`.
    @Suite("Performance: real boots", .serialized, .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
    struct PerformanceRunTests {
        static let matrix = """
            {
              "name": "perf-run",
              "components": {
                "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
                  "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
                  "boot": {"kernel": "kernel"}}
              },
              "chains": {
                "smp": {"levels": [{"component": "fixture", "cmdline": "mode=smp cpus=2 iters=25"}],
                        "verdict": {"pass": [{"regex": "fixture iter", "minPerCPU": 25}]}, "timeouts": {"boot": 60},
                        "milestones": [{"name": "kernel", "regex": "^fixture kernel"}, {"name": "iter3", "regex": "fixture iter 3$"}]}
              },
              "axes": {"chain": ["smp"], "opt": ["O0"], "bits": ["i386"], "smp": [2], "backend": ["qemu-tcg"]}
            }
            """

        @Test("milestones and rates from the serial stream; a cell 30 times faster than its history: re-booted, then `faster`")
        func fasterThanHistory() async throws {
            let fixture = try await FixtureMatrix.make(matrix: Self.matrix)
            defer { fixture.remove() }
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let options = RunOptions(store: fixture.store, slots: 1)
            let first = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)
            let cell = try #require(first.results.cells.first)
            try #require(cell.outcome == .pass, "\(cell.reason)")
            let milestones = try #require(cell.milestones)
            #expect(milestones.map(\.name) == ["first-output", "kernel", "iter3", "verdict"])
            #expect(milestones.map(\.seconds) == milestones.map(\.seconds).sorted())
            #expect(milestones[1].text?.hasPrefix("fixture kernel (i386") == true)
            #expect(milestones.last?.seconds == cell.secondsToVerdict && milestones.last?.line == cell.line)
            #expect(cell.rates?.map(\.cpu) == [0, 1] && cell.rates?.allSatisfy { $0.count == 25 } == true)
            // Stored as written: results.json carries them.
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let stored = try decoder.decode(
                RunResults.self, from: Data(contentsOf: URL(fileURLWithPath: "\(fixture.store)/runs/\(first.results.runID)/results.json")))
            #expect(stored.cells.first?.milestones == milestones)
            #expect(first.findings.isEmpty, "no history yet")

            // Five earlier nights on this host with this configuration, each about 30 s slower.
            let store = try ArtifactStore(root: fixture.store)
            let host = try #require(try await store.hostJSON(runID: first.results.runID))
            for night in 0..<5 {
                let id = "\(first.results.runID)-\(night)"
                var slow = cell
                slow.secondsToVerdict = (cell.secondsToVerdict ?? 0) + 30 + Double(night % 2)
                slow.milestones = milestones.map { MilestoneTime(name: $0.name, seconds: $0.seconds + 30 + Double(night % 2), line: $0.line, text: $0.text) }
                try await store.beginRun(id: id, matrix: plan.matrix, matrixPath: fixture.matrix, trigger: "test", hostJSON: host, cellIDs: [cell.cellID])
                try await store.recordCell(runID: id, result: slow)
                try await store.finishRun(id: id, results: RunResults(runID: id, matrix: plan.matrix, started: Date(), finished: Date(), cells: [slow]))
            }

            let second = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)
            let runID = second.results.runID
            let faster = second.findings.filter { $0.kind == .faster }
            let toPass = try #require(faster.first { $0.title.contains("time to pass") }, "findings: \(second.findings.map(\.title))")
            #expect(toPass.title.hasPrefix("smp O0/i386 time to pass "))
            #expect(toPass.title.contains("band ±10 % over 5 runs), same commits"))
            #expect(toPass.detail.contains("re-boot in the same run"))
            #expect(faster.contains { $0.title.contains("time to kernel") })
            #expect(FileManager.default.fileExists(atPath: "\(fixture.store)/runs/\(runID)/\(cell.cellID)/perf-reboot/serial.txt"))
            let findingsFile = try String(contentsOfFile: "\(fixture.store)/runs/\(runID)/findings.json", encoding: .utf8)
            #expect(findingsFile.contains("\"faster\""))
            #expect(second.results.cells.first?.attempts == 1, "the re-boot is not an attempt of the recorded result")

            // An investigation's run of the same cell (trigger `bisect:`): still outside the band
            // of the nights before, but it is a step, not a night: no re-boot, no timing finding.
            var investigation = options
            investigation.trigger = "bisect:perf-run-test"
            let step = try await RunScheduler(options: investigation).run(plan, matrixPath: fixture.matrix)
            #expect(step.results.cells.first?.outcome == .pass)
            #expect(!step.findings.contains { $0.kind == .slower || $0.kind == .faster }, "\(step.findings.map(\.title))")
            #expect(!FileManager.default.fileExists(atPath: "\(fixture.store)/runs/\(step.results.runID)/\(cell.cellID)/perf-reboot"))
        }
    }
}

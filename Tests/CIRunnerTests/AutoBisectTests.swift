import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealProcessSuite {
    /// Issue 12 "In the service": a run with a regression queues an automatic bisect, which
    /// the service runs after the run (real git history, builds and qemu-tcg boots) and which
    /// names the bad commit; the dashboard then shows it on the finding and the cell page.
    @Suite("Service: automatic bisect of a new regression", .serialized)
    struct AutoBisectTests {
        @Test(
            "nightly run regresses → bisect job queued and finished → culprit on the dashboard",
            .enabled(if: FixtureKernels.available && BootTools.qemu, "needs the fixture kernels, make, GRUB, mtools and qemu"))
        func autoBisect() async throws {
            let fixture = try await BisectFixture.make()
            defer { fixture.remove() }
            // Last night: passes at `good`.
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let first = try await RunScheduler(options: RunOptions(store: fixture.store)).run(plan, matrixPath: fixture.matrix)
            #expect(first.results.cells.allSatisfy { $0.outcome == .pass })
            try await fixture.commit("harmless 1")
            try await fixture.commit("harmless 2")
            let culprit = try await fixture.commit("the bug", behaviour: .bad)
            try await fixture.commit("harmless 3")

            var entry = ServiceConfig.MatrixEntry(path: fixture.matrix, name: "bisect-fixture", schedule: nil, watch: false)
            entry.bisect = .init(auto: true, maxSteps: 8, maxHours: 1)
            let config = ServiceConfig(file: "\(fixture.folder)/service.json", matrices: [entry], slots: 1)
            let service = ServiceLoop(config: config, storePath: fixture.store, logger: .discarding, tick: .milliseconds(200), dashboard: "\(fixture.folder)/dashboard")
            let running = Task { try await service.run() }
            let store = try ArtifactStore(root: fixture.store)
            try await InvestigationServiceTests.until("the service's first scan") {
                try await store.serviceValue(InvestigationService.scannedKey) == first.results.runID
            }
            try await store.enqueue(matrixPath: fixture.matrix, matrix: "bisect-fixture", reason: "nightly")
            try await InvestigationServiceTests.until("the bisect job to end", timeout: .seconds(900)) {
                try await store.jobs().contains { $0.state == .done || $0.state == .failed }
            }
            let job = try #require(try await store.jobs().first)
            #expect(job.state == .done, "\(job.message ?? "")")
            #expect(job.kind == .bisect)
            let record = try #require(try await store.bisects(runID: job.runID).last)
            #expect(record.culprit?.commit == culprit)
            #expect(job.message?.hasPrefix("first bad commit: fixture \(culprit.prefix(9))") == true)
            // Its steps are not nightly history: the newest matrix run is still the regressed one.
            #expect(try await store.runs(limit: 10, matrix: "bisect-fixture").map(\.id).contains(record.investigationRunID) == false)
            // The dashboard (republished after the job) shows the culprit and the steps.
            try await DashboardPublisher(store: store, folder: "\(fixture.folder)/dashboard").publish()
            let page = try String(contentsOfFile: "\(fixture.folder)/dashboard/runs/\(Dashboard.folderName(job.runID))/index.html", encoding: .utf8)
            #expect(page.contains("first bad commit fixture"))
            let cellPage = try String(
                contentsOfFile: "\(fixture.folder)/dashboard/runs/\(Dashboard.folderName(job.runID))/\(Dashboard.folderName(job.cellID))/index.html", encoding: .utf8)
            #expect(cellPage.contains("<table class=\"steps\">"))
            await service.stop()
            try await running.value
        }
    }
}

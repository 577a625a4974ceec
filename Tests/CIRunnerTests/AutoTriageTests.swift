import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealProcessSuite {
    /// Issue 13 "Result and service": with `"triage": {"auto": true, "maxBuilds": N}` the
    /// service triages each new -O-only finding itself, with the real ``Triage`` (real
    /// builds and qemu-tcg boots of the fixture kernels, whose `mode=vmcs` fails at -O2
    /// through strict aliasing), within N builds.
    @Suite("Service: automatic -O triage of a new -O-only finding", .serialized)
    struct AutoTriageTests {
        @Test(
            "service.json triage settings: maxBuilds 2 stops after 2 builds, saying so; maxBuilds 40 names -fstrict-aliasing and vmcs.c",
            .enabled(if: FixtureKernels.available && BootTools.qemu, "needs the fixture kernels, make, GRUB, mtools and qemu"))
        func autoTriage() async throws {
            let fixture = try await FixtureMatrix.make(matrix: TriageBenchmark.fixtureMatrixText)
            defer { fixture.remove() }
            // Two matrices of the same cells (their builds shared through the cache), two budgets.
            let small = "\(fixture.folder)/small.json"
            try TriageBenchmark.fixtureMatrixText.replacingOccurrences(of: "\"fixture-triage\"", with: "\"fixture-triage-small\"")
                .write(toFile: small, atomically: true, encoding: .utf8)
            // A schedule that does not come during the test: runs are only the ones enqueued here.
            let formatter = DateFormatter()
            formatter.dateFormat = "HH:mm"
            let later = formatter.string(from: Date().addingTimeInterval(12 * 3600))
            let serviceFile = "\(fixture.folder)/service.json"
            try """
                {"matrices": [
                  {"path": "small.json", "schedule": {"daily": "\(later)"}, "triage": {"auto": true, "maxBuilds": 2}},
                  {"path": "matrix.json", "schedule": {"daily": "\(later)"}, "triage": {"auto": true, "maxBuilds": 40}}
                ], "slots": 2}
                """.write(toFile: serviceFile, atomically: true, encoding: .utf8)
            let config = try ServiceConfig.load(path: serviceFile)
            #expect(config.matrices.map(\.triage) == [.init(auto: true, maxBuilds: 2), .init(auto: true, maxBuilds: 40)])

            let service = ServiceLoop(config: config, storePath: fixture.store, logger: .discarding, tick: .milliseconds(200), dashboard: "\(fixture.folder)/dashboard")
            let running = Task { try await service.run() }
            let store = try ArtifactStore(root: fixture.store)
            try await InvestigationServiceTests.until("the service's first scan") {
                try await store.serviceValue(InvestigationService.scannedKey) != nil
            }
            func ended(_ count: Int) async throws -> Bool {
                try await store.jobs().filter { $0.state == .done || $0.state == .failed }.count >= count
            }

            // maxBuilds 2: two flag steps built, then the triage stops and says why.
            try await store.enqueue(matrixPath: config.matrices[0].path, matrix: "fixture-triage-small", reason: "nightly")
            try await InvestigationServiceTests.until("the small triage to end", timeout: .seconds(900)) { try await ended(1) }
            let stopped = try #require(try await store.jobs().first { $0.matrix == "fixture-triage-small" })
            #expect(stopped.kind == .triage && stopped.state == .done, "\(stopped.message ?? "")")
            #expect(stopped.limits.maxBuilds == 2)
            let partial = try #require(try await store.triages(runID: stopped.runID).last)
            #expect(partial.status == .failed)
            #expect(partial.builds == 2, "\(partial.lines)")
            #expect(partial.notes.contains("stopped after 2 builds (maxBuilds 2)"))
            #expect(partial.flagsSentence == "flags: not narrowed (the triage stopped first)", "no claim from an unfinished search")
            #expect(stopped.message?.contains("stopped: stopped after 2 builds (maxBuilds 2)") == true, "\(stopped.message ?? "")")

            // maxBuilds 40: the whole triage, on its own after the nightly run.
            try await store.enqueue(matrixPath: config.matrices[1].path, matrix: "fixture-triage", reason: "nightly")
            try await InvestigationServiceTests.until("the full triage to end", timeout: .seconds(1800)) { try await ended(2) }
            let job = try #require(try await store.jobs().first { $0.matrix == "fixture-triage" })
            #expect(job.kind == .triage && job.state == .done, "\(job.message ?? "")")
            #expect(job.limits.maxBuilds == 40)
            let record = try #require(try await store.triages(runID: job.runID, cellID: job.cellID).last)
            #expect(record.status == .finished, "\(record.lines)")
            #expect(record.minimalFlags == ["-fstrict-aliasing"])
            #expect(record.minimalUnits?.map(\.path) == ["vmcs.c"])
            #expect(record.passesOtherwise == true)
            #expect(record.builds <= 40)
            #expect(job.message?.contains("the failure needs -fstrict-aliasing") == true, "\(job.message ?? "")")
            #expect(job.message?.contains("fails when vmcs.c is built at -O2 (everything else at -O0); passes otherwise") == true, "\(job.message ?? "")")
            // Its steps are not nightly history.
            #expect(try await store.runs(limit: 10, matrix: "fixture-triage").map(\.id) == [job.runID])
            await service.stop()
            try await running.value
            #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        }
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealProcessSuite {
    /// Issue 13 "cancelled and resumed as in #10": `nestci triage` killed with SIGKILL after
    /// a few recorded steps, then asked again: it takes over the record and the
    /// investigation run, builds and boots none of the recorded steps again, and finds what
    /// an uninterrupted triage finds.
    @Suite("Triage resumes after SIGKILL", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
    struct TriageKillTests {
        @Test("SIGKILL after three recorded steps; the second nestci triage reuses them (no build, no boot, result files untouched), names -fstrict-aliasing and vmcs.c")
        func resumeAfterKill() async throws {
            let fixture = try await FixtureMatrix.make(matrix: TriageBenchmark.fixtureMatrixText)
            defer { fixture.remove() }
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let run = try await RunScheduler(options: RunOptions(store: fixture.store, slots: 2)).run(plan, matrixPath: fixture.matrix)
            let failing = try #require(run.results.cells.first { $0.outcome == .fail }, "the -O2 cell fails")
            let runID = run.results.runID
            let arguments = ["triage", "\(runID)/\(failing.cellID)", "--store", fixture.store]
            let store = try ArtifactStore(root: fixture.store)
            func stored() async -> TriageRecord? { try? await store.triages(runID: runID).first }

            let first = try SupervisedProcess(ProcessSpec(NestCIBinary.path!, arguments, timeout: .seconds(900)))
            let deadline = Date().addingTimeInterval(600)
            while (await stored()?.steps.count ?? 0) < 3, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            kill(first.pid, SIGKILL)
            _ = await first.wait()
            let interrupted = try #require(await stored())
            try #require(interrupted.steps.count >= 3, "the first triage should have recorded three steps")
            #expect(interrupted.status == .running, "killed: nothing could mark it")
            // Its emulator dies with it (none of this test's is left, whatever the moment of the kill).
            let orphans = Date().addingTimeInterval(30)
            while !EmulatorProcesses.matching(fixture.folder).isEmpty, Date() < orphans { try await Task.sleep(for: .milliseconds(200)) }
            #expect(EmulatorProcesses.matching(fixture.folder).isEmpty, "no emulator left running after the SIGKILL")

            let investigation = interrupted.investigationRunID
            func stamp(_ cellID: String) -> Date? {
                let path = "\(store.layout.cell(investigation, cellID))/\(RunLayout.resultFile)"
                return (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            }
            let recordedCells = interrupted.steps.flatMap(\.cellIDs)
            let stamps = Dictionary(uniqueKeysWithValues: recordedCells.map { ($0, stamp($0)) })

            let second = try await SupervisedProcess.run(ProcessSpec(NestCIBinary.path!, arguments, timeout: .seconds(900)))
            #expect(second.succeeded, "\(second.output.suffix(2000))")
            #expect(second.output.contains("the failure needs -fstrict-aliasing"), "\(second.output.suffix(2000))")
            let record = try #require(await stored())
            #expect(record.status == .finished)
            #expect(record.investigationRunID == investigation, "the same investigation run continued")
            // The same result as an uninterrupted triage (FixtureTriageTests).
            #expect(record.minimalFlags == ["-fstrict-aliasing"])
            #expect(record.minimalUnits?.map(\.path) == ["vmcs.c"])
            #expect(record.passesOtherwise == true)
            #expect(record.unitsSentence == "fails when vmcs.c is built at -O2 (everything else at -O0); passes otherwise")

            // Counted: the recorded steps came back with no build and no boot, their result files untouched.
            let replayed = record.steps.prefix(interrupted.steps.count)
            #expect(replayed.map(\.cellIDs) == interrupted.steps.map(\.cellIDs), "the same steps, in the same order")
            #expect(replayed.allSatisfy { $0.builds == 0 && $0.boots == 0 }, "\(replayed.map { "\($0.cellIDs): \($0.builds) builds, \($0.boots) boots" })")
            #expect(record.reusedBoots == recordedCells.count)
            for (cellID, when) in stamps {
                #expect(stamp(cellID) == when, "\(cellID) was booted again")
            }
            // Every boot of the triage happened once: one recorded cell per boot, over both processes.
            let cells = try await store.cells(runID: investigation)
            #expect(cells.count == record.steps.flatMap(\.cellIDs).count)
            #expect(record.boots == cells.count, "boots counted once over both processes")
            #expect(record.builds <= record.steps.count, "no recorded step's build was started again")
            #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        }
    }
}

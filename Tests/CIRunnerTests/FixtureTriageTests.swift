import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// Issue 13 end to end: the fixture kernels' `mode=vmcs` passes at -O0 and fails at -O2
    /// through strict aliasing in vmcs.c; real builds, real qemu-tcg boots.
    @Suite("-O triage of the fixture kernels: real builds and qemu-tcg boots")
    struct FixtureTriageTests {
        @Test("names -fstrict-aliasing and vmcs.c within the targets; resumes without booting again; shown in report, dashboard, reproduce.sh",
              .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func triageNamesFlagAndUnit() async throws {
            let fixture = try await FixtureMatrix.make(matrix: TriageBenchmark.fixtureMatrixText)
            defer { fixture.remove() }
            let record = try await TriageBenchmark.triage(matrixPath: fixture.matrix, store: fixture.store)
            print("[triage] " + record.lines.joined(separator: "\n[triage] "))
            #expect(record.status == .finished)
            #expect(record.minimalFlags == ["-fstrict-aliasing"])
            #expect(record.flagsSentence.contains("passes at -O2 -fno-strict-aliasing: the failure needs -fstrict-aliasing (typical of type punning"))
            #expect(record.units.map(\.path).sorted() == ["chain.c", "cmdline.c", "fixture.c", "lib.c", "serial.c", "smp.c", "vmcs.c"])
            #expect(record.minimalUnits?.map(\.path) == ["vmcs.c"])
            #expect(record.unitsSentence == "fails when vmcs.c is built at -O2 (everything else at -O0); passes otherwise")
            let figures = TriageBenchmark.Figures(subject: "fixture", record: record)
            #expect(figures.flagSteps <= figures.flagTarget, "\(figures)")
            #expect(figures.unitSteps <= figures.unitTarget, "\(figures)")
            // "Passes otherwise" checked: vmcs.c at -O0 too (every unit at -O0 through the wrapper) passes.
            #expect(record.passesOtherwise == true)
            let otherwise = try #require(record.steps.last)
            #expect(otherwise.phase == .otherwise && otherwise.units.isEmpty && otherwise.verdict == "good")
            #expect(record.steps.count == record.flagTests + record.unitTests + 2, "the listing build and the otherwise check besides the searches")
            #expect(record.boots == record.steps.count && record.builds == record.steps.count, "a build and a boot a step")

            // Kept in the store; its steps are cells of an investigation run outside the nightly history.
            let store = try ArtifactStore.openExisting(root: fixture.store)
            let stored = try #require(try await store.triage(id: record.id))
            #expect(stored.steps == record.steps && stored.minimalUnits == record.minimalUnits && stored.status == .finished, "dates aside, as returned")
            #expect(try await store.runs(matrix: "fixture-triage").count == 1, "the investigation run is not a nightly run")
            let stepCells = try await store.cells(runID: record.investigationRunID)
            #expect(stepCells.count == record.steps.count)

            // The unit steps' builds record the wrapper, and reproduce.sh recreates it.
            let unitStep = try #require(record.steps.last { $0.phase == .units })
            let folder = RunLayout(store: fixture.store).cell(record.investigationRunID, unitStep.cellIDs[0])
            let script = try String(contentsOfFile: "\(folder)/reproduce.sh", encoding: .utf8)
            #expect(script.contains("nestci -O triage compiler wrapper") && script.contains("PATH=\"$work/wrap0:$PATH\""))
            let syntax = try await SupervisedProcess.run(ProcessSpec("/bin/sh", ["-n", "\(folder)/reproduce.sh"], timeout: .seconds(30)))
            #expect(syntax.succeeded, "\(syntax.output)")

            // Resumed: every step's boots are reused, nothing is built or booted again.
            let again = try await Triage.run(TriageRequest(runID: record.runID, cellID: record.cellID), store: store, options: RunOptions(store: fixture.store))
            #expect(again.minimalFlags == record.minimalFlags && again.minimalUnits == record.minimalUnits)
            #expect(again.boots == record.boots && again.builds == record.builds, "costs carried over, none added")
            #expect(again.reusedBoots == record.steps.count)

            // Dashboard (escaped, on the -O finding) and the webhook's findings carry it.
            let runs = try await DashboardPublisher(store: store, folder: "\(fixture.folder)/dashboard").dashboardRuns()
            let finding = try #require(runs.first { $0.id == record.runID }?.findings.first { $0.kind == .optOnly })
            #expect(finding.triage?.first?.contains("-fstrict-aliasing") == true)
            let payload = String(decoding: try JSONEncoder().encode(RunNotification(run: runs.first { $0.id == record.runID }!)), as: UTF8.self)
            #expect(payload.contains("fails when vmcs.c is built at -O2"))
        }

        @Test("a unit built by absolute path escapes the wrapper: the unit search names an innocent unit, and the otherwise check says it does not pass otherwise",
              .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func otherwiseFailsWhenAUnitEscapes() async throws {
            let gcc = try #require(
                (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/gcc" }.first(where: FileManager.default.isExecutableFile))
            // vmcs.c (the culprit) is compiled first by gcc's absolute path; the rest by `gcc` on PATH (the wrapper).
            let command = "make BITS={bits} OPT='{opt}' CC=\(gcc) build/{bits}/vmcs.o && make BITS={bits} OPT='{opt}'"
            let matrix = TriageBenchmark.fixtureMatrixText.replacingOccurrences(of: "make BITS={bits} OPT='{opt}'", with: command)
            let fixture = try await FixtureMatrix.make(matrix: matrix)
            defer { fixture.remove() }
            let record = try await TriageBenchmark.triage(matrixPath: fixture.matrix, store: fixture.store)
            print("[triage] " + record.lines.joined(separator: "\n[triage] "))
            #expect(record.status == .finished)
            #expect(record.minimalFlags == ["-fstrict-aliasing"], "the flags still reach vmcs.c through OPT")
            #expect(record.units.map(\.path).sorted() == ["chain.c", "cmdline.c", "fixture.c", "lib.c", "serial.c", "smp.c"], "vmcs.c never went through the wrapper")
            #expect(record.minimalUnits?.count == 1)
            #expect(record.passesOtherwise == false)
            let otherwise = try #require(record.steps.last)
            #expect(otherwise.phase == .otherwise && otherwise.verdict == "bad")
            #expect(!record.unitsSentence.contains("passes otherwise"))
            #expect(record.unitsSentence.contains("but it fails too with every unit at -O0 through the wrapper"))
            #expect(record.lines.contains { $0.contains("escapes the wrapper") }, "nestci report says it")
        }

        @Test("a build calling gcc by absolute path bypasses the wrapper: said so, no units", .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func absoluteCompilerBypass() async throws {
            let gcc = try #require(
                (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/gcc" }.first(where: FileManager.default.isExecutableFile))
            let matrix = TriageBenchmark.fixtureMatrixText.replacingOccurrences(of: "OPT='{opt}'", with: "OPT='{opt}' CC=\(gcc)")
            let fixture = try await FixtureMatrix.make(matrix: matrix)
            defer { fixture.remove() }
            let record = try await TriageBenchmark.triage(matrixPath: fixture.matrix, store: fixture.store)
            #expect(record.minimalFlags == ["-fstrict-aliasing"])
            #expect(record.units.isEmpty && record.minimalUnits == nil)
            #expect(record.unitsSentence.contains("absolute path"))
        }
    }
}

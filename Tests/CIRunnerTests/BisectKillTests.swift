import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealProcessSuite {
    /// `nestci bisect` killed with SIGKILL mid-bisect, then asked again: it continues the
    /// recorded bisect and never boots a recorded step again.
    @Suite("Bisect resumes after SIGKILL", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
    struct BisectKillTests {
        @Test("SIGKILL after two recorded boots; the second nestci bisect reuses them (result files untouched) and names the culprit")
        func resumeAfterKill() async throws {
            let fixture = try await BisectFixture.make()
            defer { fixture.remove() }
            var culprit = ""
            for index in 1...14 {
                let commit = try await fixture.commit("commit \(index)", behaviour: index >= 9 ? .bad : .good)
                if index == 9 { culprit = commit }
            }
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let run = try await RunScheduler(options: RunOptions(store: fixture.store, slots: 1)).run(plan, matrixPath: fixture.matrix)
            let cell = try #require(run.results.cells.first)
            try #require(cell.outcome == .fail)
            let arguments = ["bisect", "\(run.results.runID)/\(cell.cellID)", "--good", "good", "--store", fixture.store]
            let store = try ArtifactStore(root: fixture.store)

            let first = try SupervisedProcess(ProcessSpec(NestCIBinary.path!, arguments, timeout: .seconds(600)))
            func recordedBoots() async -> [CellResult] {
                guard let bisect = try? await store.bisects(runID: run.results.runID).first,
                    let id = try? await store.investigationRunID(trigger: "bisect:\(bisect.id)")
                else { return [] }
                return (try? await store.cells(runID: id)) ?? []
            }
            let deadline = Date().addingTimeInterval(300)
            while await recordedBoots().count < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            kill(first.pid, SIGKILL)
            _ = await first.wait()
            let before = await recordedBoots()
            try #require(before.count >= 2, "the first bisect should have recorded two boots")
            let investigation = try #require(try await store.bisects(runID: run.results.runID).first?.investigationRunID)
            func stamp(_ cellID: String) -> Date? {
                let path = "\(store.layout.cell(investigation, cellID))/\(RunLayout.resultFile)"
                return (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            }
            let stamps = Dictionary(uniqueKeysWithValues: before.map { ($0.cellID, stamp($0.cellID)) })
            let interrupted = try await store.bisects(runID: run.results.runID).first
            #expect(interrupted?.status == .running, "killed: nothing could mark it")

            let second = try await SupervisedProcess.run(ProcessSpec(NestCIBinary.path!, arguments, timeout: .seconds(600)))
            #expect(second.succeeded, "\(second.output.suffix(2000))")
            #expect(second.output.contains("first bad commit: fixture \(culprit.prefix(9)) \"commit 9\""), "\(second.output.suffix(2000))")
            let record = try #require(try await store.bisects(runID: run.results.runID).first)
            #expect(record.status == .finished && record.culprit?.commit == culprit)
            #expect(record.investigationRunID == investigation, "the same investigation run continued")
            for (cellID, when) in stamps {
                #expect(stamp(cellID) == when, "\(cellID) was booted again")
            }
            let after = try await store.cells(runID: investigation)
            #expect(Set(before.map(\.cellID)).isSubset(of: Set(after.map(\.cellID))))
            #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        }
    }
}

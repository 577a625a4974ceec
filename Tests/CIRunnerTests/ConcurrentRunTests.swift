import Foundation
import Hypervisor
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// Two `nestci run` processes on one store: builds and disks are shared, never pulled
/// from under the other process (issue: a false INFRA "GRUB disk: …/fixture.bin does not
/// exist" in 3 of 12 runs).
@Suite("Several nestci processes on one store", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
struct ConcurrentRunTests {
    @Test("two concurrent runs of the fixture matrix, fresh and with --rebuild, give no false outcome")
    func twoRunsOneStore() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        // Trial 1 on an empty store (both build every key); trials 2 and 3 with one run
        // rebuilding every key while the other reuses them: the old publish moved the
        // reused build aside here.
        for trial in 1...3 {
            let extra = trial == 1 ? [] : ["--rebuild"]
            let runs = try [extra, []].map { options in
                try SupervisedProcess(
                    ProcessSpec(
                        NestCIBinary.path!, ["run", fixture.matrix, "--store", fixture.store, "--slots", "2"] + options,
                        timeout: .seconds(900)))
            }
            var results: [ProcessResult] = []
            for run in runs { results.append(await run.wait()) }
            for (index, result) in results.enumerated() {
                let label = "trial \(trial), run \(index + 1)"
                #expect(!result.timedOut, "\(label)")
                #expect(result.termination == .exited(1), "\(label): the fail and -O2 vmcs cells fail: \(result.output.suffix(2000))")
                #expect(result.output.contains("16 cells: 10 PASS, 6 FAIL"), "\(label): \(result.output.suffix(3000))")
                #expect(!result.output.contains("INFRA") && !result.output.contains("BUILD-FAIL"), "\(label): \(result.output.suffix(3000))")
            }
        }
        #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
    }
}
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// Runs after the other real-boot suites (serialized, source order: this file sorts
    /// last). Each boot there already checks that its own emulator is gone; this adds the
    /// kill paths most likely to leak (deadline kills of a silent guest, qemu and Bochs) and
    /// then scans /proc for any qemu or Bochs whose command line names this run's folder.
    @Suite("No emulator left behind by the real boots")
    struct NoLeftoverProcessTests {
        @Test(
            "deadline kills of a silent guest leave nothing, under qemu-tcg and Bochs",
            .enabled(if: RealBootTools.qemu && RealBootFixtures.available, RealBootTools.qemuReason))
        func deadlineKills() async throws {
            var backends: [Backend] = [.qemuTCG]
            if RealBootTools.bochs { backends.append(.bochs) }
            for backend in backends {
                let result = try await RealBootFixtures.boot(
                    "leftover-silent-\(backend.rawValue)", bits: .i386, opt: .O2, cmdline: "mode=silent", backend: backend,
                    deadline: .seconds(3))
                #expect(result.verdict.outcome == .timeout, "\(backend.rawValue): \(result.verdict)")
                #expect(result.emulatorPID != nil)
                #expect(result.stopDuration < .seconds(15), "\(backend.rawValue) took \(result.stopDuration) to stop")
            }
        }

        @Test("after every boot of this run: no qemu-system or bochs-bin naming the run's folder is alive")
        func nothingLeft() async throws {
            let left = RealBootRun.leftoverEmulators()
            #expect(left.isEmpty, "left running: \(left)")
            // And no disk lock: Bochs runs volatile disks, and a killed flat-mode Bochs would leave one.
            // (nestci's own flock files in `.locks/` stay by design: deleting a lock file races.)
            let locks = FileManager.default.enumerator(atPath: RealBootRun.root)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".lock") && !$0.contains(".locks/") } ?? []
            #expect(locks.isEmpty, "disk locks left: \(locks)")
        }
    }
}

import Foundation
import Hypervisor
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// nestci itself interrupted: SIGINT/SIGTERM must tear down every emulator it started.
@Suite("Interrupting nestci", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
struct InterruptTests {
    @Test("SIGINT/SIGTERM during boots: nestci exits and leaves no emulator behind", arguments: [SIGINT, SIGTERM])
    func interruptTearsDown(signal: Int32) async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        // Every cell of this matrix hangs until its (long) deadline.
        let matrix = try String(contentsOfFile: fixture.matrix, encoding: .utf8)
            .replacingOccurrences(of: "mode=pass\"", with: "mode=hang\"").replacingOccurrences(of: "\"boot\": 60", with: "\"boot\": 600")
        try matrix.write(toFile: fixture.matrix, atomically: true, encoding: .utf8)
        let nestci = try SupervisedProcess(
            ProcessSpec(NestCIBinary.path!, ["run", fixture.matrix, "--store", fixture.store], timeout: .seconds(120)))
        // Wait until emulators of this run are up.
        var emulators: [Int32] = []
        for _ in 0..<400 where emulators.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            emulators = EmulatorProcesses.matching(fixture.folder)
        }
        #expect(!emulators.isEmpty, "the run should have started qemu")
        kill(nestci.pid, signal)
        let result = await nestci.wait()
        #expect(!result.timedOut)
        #expect(result.termination == .exited(128 + signal))
        #expect(result.output.contains("stopping emulators and builds"))
        #expect(EmulatorProcesses.matching(fixture.folder).isEmpty, "no qemu of this run may survive nestci")
    }
}
}

/// The `nestci` executable built beside the test bundle.
enum NestCIBinary {
    static let path: String? = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle.appendingPathComponent("nestci"), bundle.deletingLastPathComponent().appendingPathComponent("nestci")]
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}

/// qemu and Bochs processes on this machine, from /proc.
enum EmulatorProcesses {
    /// Emulators whose command line mentions `text` (a test's own folder).
    static func matching(_ text: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            guard command.contains("qemu-system") || command.contains("bochs-bin") else { return nil }
            return command.contains(text) ? pid : nil
        }
    }
}

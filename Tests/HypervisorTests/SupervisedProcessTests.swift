import Foundation
import Testing

@testable import Hypervisor

@Suite("Process supervision")
struct SupervisedProcessTests {
    @Test("captures combined output and the exit status")
    func capturesOutput() async throws {
        let result = try await SupervisedProcess.run(.shell("echo out; echo err >&2; exit 3"))
        #expect(result.termination == .exited(3))
        #expect(result.output.contains("out"))
        #expect(result.output.contains("err"))
        #expect(!result.timedOut)
    }

    @Test("a missing program is a launch error that says what to do")
    func missingProgram() async throws {
        let error = #expect(throws: ProcessLaunchError.self) {
            _ = try SupervisedProcess(ProcessSpec("nestci-no-such-tool"))
        }
        #expect(error?.description.contains("not found") == true)
    }

    @Test("a deadline kills the whole group, grandchildren included, and reaps it")
    func deadlineKillsGroup() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("grandchild-\(UUID()).pid").path
        // The shell starts a background sleeper (a grandchild of nestci) and hangs.
        let spec = ProcessSpec.shell("sleep 300 & echo $! > \(marker); sleep 300", timeout: .milliseconds(500))
        let result = try await SupervisedProcess.run(spec)
        #expect(result.timedOut)
        #expect(result.summary.hasPrefix("timed out"))
        let grandchild = try #require(Int32(String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Killed with the group at the deadline; its zombie, re-parented to us (the
        // subreaper), is reaped by the registry's 100 ms sweep, which a loaded CI (this test
        // once took 8.5 s there) delayed past a fixed 200 ms.
        #expect(try await eventually(seconds: 10) { !FileManager.default.fileExists(atPath: "/proc/\(grandchild)") }, "the background sleeper must be gone, not even a zombie")
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(result.pid)"), "the leader must be reaped, not a zombie")
        #expect(!ProcessRegistry.shared.live.contains(result.pid))
    }

    @Test("cancelling the waiting task stops the child")
    func cancellationStops() async throws {
        let process = try SupervisedProcess(.shell("exec sleep 300"))
        let waiter = Task { await process.wait() }
        try await Task.sleep(for: .milliseconds(200))
        waiter.cancel()
        let result = await waiter.value
        #expect(result.stoppedByRequest)
        #expect(result.termination == .signalled(SIGTERM))
    }

    @Test("long output is capped, keeping head and tail")
    func capsOutput() async throws {
        let spec = ProcessSpec(
            "/bin/sh", ["-c", "echo FIRST; seq 1 200000; echo LAST"], outputLimit: 4096)
        let result = try await SupervisedProcess.run(spec)
        #expect(result.outputTruncated)
        #expect(result.output.hasPrefix("FIRST"))
        #expect(result.output.hasSuffix("LAST\n"))
        #expect(result.output.contains("bytes cut by nestci"))
        #expect(result.output.utf8.count < 4096 + 100)
    }
}

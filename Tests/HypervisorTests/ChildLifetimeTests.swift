import Foundation
import Testing

@testable import Hypervisor

/// What every child gets between fork and exec, and what happens to descendants that
/// leave their process group — checked on real processes.
@Suite("Child lifetime")
struct ChildLifetimeTests {
    static func pids(_ text: String) -> [Int32] {
        text.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    static func alive(_ pid: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)") && !ProcessTable.isZombie(pid)
    }

    @Test("the child has the parent-death signal SIGKILL, read back with PR_GET_PDEATHSIG")
    func deathSignalIsSet() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-pdeathsig-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = """
            #include <stdio.h>
            #include <sys/prctl.h>
            int main(void) { int s = 0; prctl(PR_GET_PDEATHSIG, &s); printf("pdeathsig=%d\\n", s); return 0; }
            """
        try source.write(toFile: "\(folder)/p.c", atomically: true, encoding: .utf8)
        let compile = try await SupervisedProcess.run(ProcessSpec("gcc", ["-o", "\(folder)/p", "\(folder)/p.c"], timeout: .seconds(60)))
        try #require(compile.succeeded, "gcc: \(compile.output)")
        let result = try await SupervisedProcess.run(ProcessSpec("\(folder)/p", timeout: .seconds(10)))
        #expect(result.output.contains("pdeathsig=\(SIGKILL)"), "\(result.output)")
    }

    @Test("every signal is at its default and none is blocked in the child, whatever nestci ignores")
    func signalsReset() async throws {
        // SIGUSR2 ignored in this process: posix_spawn with a short setsigdefault list
        // passed that on to every child.
        signal(SIGUSR2, SIG_IGN)
        let result = try await SupervisedProcess.run(.shell("grep -E '^(SigIgn|SigBlk):' /proc/self/status", timeout: .seconds(10)))
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 2, "\(result.output)")
        for line in lines {
            #expect(line.hasSuffix("0000000000000000"), "\(line)")
        }
    }

    @Test("a failing step between fork and exec is a launch error naming the step")
    func failedStepIsNamed() async throws {
        let error = #expect(throws: ProcessLaunchError.self) {
            _ = try SupervisedProcess(ProcessSpec("/bin/true", workingDirectory: "/nonexistent/nestci-folder"))
        }
        #expect(error?.description == "cannot run /bin/true: entering /nonexistent/nestci-folder failed: No such file or directory")
        let input = #expect(throws: ProcessLaunchError.self) {
            _ = try SupervisedProcess(ProcessSpec("/bin/true", standardInput: "/nonexistent/input"))
        }
        #expect(input?.description.contains("opening its standard input /nonexistent/input failed") == true)
    }

    @Test("a descendant that calls setsid is still killed when its supervised process is torn down")
    func setsidDescendantKilled() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-setsid-\(UUID()).pid").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        // The escapee leaves the group (its own session), then the group hangs until the deadline.
        let spec = ProcessSpec.shell(
            "setsid sh -c 'echo $$ > \(marker); exec sleep 300' & sleep 300", timeout: .seconds(1))
        let process = try SupervisedProcess(spec)
        var escapee: Int32?
        for _ in 0..<100 where escapee == nil {
            try await Task.sleep(for: .milliseconds(20))
            escapee = (try? String(contentsOfFile: marker, encoding: .utf8)).flatMap { Self.pids($0).first }
        }
        let pid = try #require(escapee)
        #expect(getpgid(pid) != process.pid, "the escapee left the supervised group")
        let result = await process.wait()
        #expect(result.timedOut)
        #expect(try await eventually { !Self.alive(pid) }, "the setsid descendant must be killed at teardown")
        // The subreaper's sweep runs every 100 ms; a loaded CI can delay it past a fixed wait.
        #expect(try await eventually(seconds: 10) { !FileManager.default.fileExists(atPath: "/proc/\(pid)") }, "and reaped by the subreaper, not left a zombie")
    }

    @Test("a descendant that calls setsid and outlives a child that ended on its own is killed")
    func setsidAfterNormalExit() async throws {
        let result = try await SupervisedProcess.run(.shell("setsid sleep 300 & echo $!", timeout: .seconds(10)))
        #expect(result.termination == .exited(0))
        let pid = try #require(Self.pids(result.output).first)
        #expect(try await eventually { !Self.alive(pid) }, "nothing a finished child started may run on unsupervised")
    }

    @Test("the ledger sweep kills the groups and escapees of a dead owner, never a reused pid")
    func ledgerSweep() async throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-ledger-\(UUID())").path
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: store) }
        // A dead owner: a process that has come and gone.
        let gone = try SupervisedProcess(.shell("sleep 0.2"))
        let goneStart = try #require(ProcessTable.startTime(gone.pid))
        _ = await gone.wait()
        let deadToken = "\(gone.pid)-\(goneStart)-"
        // Its strays: a process group of its own, and a descendant carrying its token.
        // Without our token, so this process's own sweeper leaves them to the ledger.
        let starter = try await SupervisedProcess.run(
            .shell(
                "env -u NESTCI_SUPERVISOR setsid sleep 301 </dev/null >/dev/null 2>&1 & echo $!; "
                    + "NESTCI_SUPERVISOR=\(deadToken)7 setsid sleep 302 </dev/null >/dev/null 2>&1 & echo $!; "
                    + "env -u NESTCI_SUPERVISOR setsid sleep 303 </dev/null >/dev/null 2>&1 & echo $!; sleep 0.5",
                timeout: .seconds(10)))
        let started = Self.pids(starter.output)
        try #require(started.count == 3)
        let (group, escapee, bystander) = (started[0], started[1], started[2])
        defer { [group, escapee, bystander].forEach { kill($0, SIGKILL) } }
        let groupStart = try #require(ProcessTable.startTime(group))
        let bystanderStart = try #require(ProcessTable.startTime(bystander))
        let ledger = ProcessLedger(store: store)
        ledger.write(
            owner: .init(pid: gone.pid, start: goneStart),
            groups: [.init(pid: group, start: groupStart), .init(pid: bystander, start: bystanderStart + 1)])
        let swept = ledger.sweep()
        #expect(swept.owners == 1)
        #expect(Set(swept.killed) == [group, escapee], "\(swept)")
        #expect(try await eventually { !Self.alive(group) && !Self.alive(escapee) })
        #expect(Self.alive(bystander), "a pid whose start time differs is someone else's: never killed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ledger.folder).isEmpty, "the dead owner's record is removed")
    }
}

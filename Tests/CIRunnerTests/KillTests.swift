import Foundation
import Hypervisor
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// `nestci run` and `nestci serve` killed with SIGKILL (no handler runs): nothing they
/// started may be left, emulators and builds alike, including a build step that left its
/// process group with setsid.
@Suite("SIGKILL leaves nothing", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
struct KillTests {
    /// Builds that hang (one step in a session of its own), so a kill lands during builds.
    static func hangingBuilds(_ fixture: FixtureMatrix) throws {
        let text = try String(contentsOfFile: fixture.matrix, encoding: .utf8)
            .replacingOccurrences(of: "\"command\": \"make", with: "\"command\": \"setsid sleep 297 & sleep 298 & sleep 299; make")
        try text.write(toFile: fixture.matrix, atomically: true, encoding: .utf8)
    }

    static func hangingBoots(_ fixture: FixtureMatrix) throws {
        let text = try String(contentsOfFile: fixture.matrix, encoding: .utf8)
            .replacingOccurrences(of: "mode=pass\"", with: "mode=hang\"").replacingOccurrences(of: "\"boot\": 60", with: "\"boot\": 600")
        try text.write(toFile: fixture.matrix, atomically: true, encoding: .utf8)
    }

    static func run(_ fixture: FixtureMatrix) throws -> SupervisedProcess {
        try SupervisedProcess(ProcessSpec(NestCIBinary.path!, ["run", fixture.matrix, "--store", fixture.store], timeout: .seconds(300)))
    }

    /// Waits until `count()` is at least `minimum`; returns the last count.
    static func waitFor(_ minimum: Int, seconds: Double = 120, _ count: () -> Int) async throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var last = count()
        while last < minimum, Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            last = count()
        }
        return last
    }

    static func sleepers(_ fixture: FixtureMatrix) -> Int {
        RunProcesses.of(owner: nil, folder: fixture.folder).filter { RunProcesses.commandLine($0).hasPrefix("sleep 29") }.count
    }

    @Test("SIGKILL during boots: 3 s later no process of that run is left")
    func killDuringBoots() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try Self.hangingBoots(fixture)
        let nestci = try Self.run(fixture)
        let emulators = try await Self.waitFor(1) { EmulatorProcesses.matching(fixture.folder).count }
        try #require(emulators > 0, "the run should have started qemu")
        kill(nestci.pid, SIGKILL)
        _ = await nestci.wait()
        try await Task.sleep(for: .seconds(3))
        let left = RunProcesses.of(owner: nestci.pid, folder: fixture.folder)
        #expect(left.isEmpty, "left: \(left.map(RunProcesses.commandLine))")
    }

    @Test("SIGKILL during builds: 3 s later no process of that run is left, not even one that called setsid")
    func killDuringBuilds() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try Self.hangingBuilds(fixture)
        let nestci = try Self.run(fixture)
        // 4 builds × (setsid sleep, sleep, sleep), as far as the build slots allow.
        let sleepers = try await Self.waitFor(3) { Self.sleepers(fixture) }
        try #require(sleepers >= 3, "the builds should be running")
        kill(nestci.pid, SIGKILL)
        _ = await nestci.wait()
        try await Task.sleep(for: .seconds(3))
        let left = RunProcesses.of(owner: nestci.pid, folder: fixture.folder)
        #expect(left.isEmpty, "left: \(left.map(RunProcesses.commandLine))")
    }

    @Test("SIGKILL of nestci and its watchdog during builds: the next command on the store ends what is left")
    func ledgerSweepOnNextStart() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try Self.hangingBuilds(fixture)
        let nestci = try Self.run(fixture)
        try #require(try await Self.waitFor(3) { Self.sleepers(fixture) } >= 3, "the builds should be running")
        let watchdog = try #require(RunProcesses.watchdog(of: nestci.pid), "nestci should have its watchdog")
        kill(watchdog, SIGKILL)
        kill(nestci.pid, SIGKILL)
        _ = await nestci.wait()
        try await Task.sleep(for: .milliseconds(500))
        // The death signal took the build shells; their sleepers are still there.
        #expect(Self.sleepers(fixture) > 0, "this test needs strays the kernel alone did not end")
        let next = try await SupervisedProcess.run(ProcessSpec(NestCIBinary.path!, ["runs", "--store", fixture.store], timeout: .seconds(60)))
        #expect(next.termination == .exited(0), "\(next.output)")
        try await Task.sleep(for: .seconds(3))
        let left = RunProcesses.of(owner: nestci.pid, folder: fixture.folder)
        #expect(left.isEmpty, "left: \(left.map(RunProcesses.commandLine))")
    }

    @Test("SIGKILL of serve (and its watchdog) during builds, restart: 3 s later no process of the first is left")
    func serveKilledDuringBuilds() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        try Self.hangingBuilds(fixture)
        let config = try ServiceTests.config(fixture, watch: false, slots: 1)
        _ = await ServiceTests.cli(["trigger", fixture.matrix, "--store", fixture.store, "--reason", "kill test"])
        let first = try ServiceTests.serve(fixture, config: config)
        try #require(try await Self.waitFor(3) { Self.sleepers(fixture) } >= 3, "the service's run should be building")
        if let watchdog = RunProcesses.watchdog(of: first.pid) { kill(watchdog, SIGKILL) }
        kill(first.pid, SIGKILL)
        _ = await first.wait()
        let second = try ServiceTests.serve(fixture, config: config)
        try await Task.sleep(for: .seconds(3))
        let left = RunProcesses.of(owner: first.pid, folder: fixture.folder).filter { RunProcesses.token($0)?.hasPrefix("\(first.pid)-") ?? false }
        #expect(left.isEmpty, "left: \(left.map(RunProcesses.commandLine))")
        kill(second.pid, SIGTERM)
        let stopped = await second.wait()
        #expect(stopped.output.contains("dead nestci"), "the restart says what it ended: \(stopped.output.prefix(1500))")
        try await Task.sleep(for: .seconds(1))
        #expect(RunProcesses.of(owner: second.pid, folder: fixture.folder).isEmpty)
    }
}
}

/// Processes of one nestci run, from /proc: those carrying its token, or whose command
/// line or working folder names the test's folder (zombies excluded: they hold nothing).
enum RunProcesses {
    static func of(owner: Int32?, folder: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let me = getpid()
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != me, ProcessTable.isRunning(pid) else { return false }
            if let owner, token(pid)?.hasPrefix("\(owner)-") == true { return true }
            if commandLine(pid).contains(folder) { return true }
            let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
            return cwd.hasPrefix(folder)
        }
    }

    static func commandLine(_ pid: Int32) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    static func token(_ pid: Int32) -> String? {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data()
        let prefix = Array("NESTCI_SUPERVISOR=".utf8)
        return data.split(separator: 0).first { $0.starts(with: prefix) }.map { String(decoding: $0.dropFirst(prefix.count), as: UTF8.self) }
    }

    /// nestci's watchdog: the child that is a fork of it (same command line) in a session of its own.
    static func watchdog(of pid: Int32) -> Int32? {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
        return children.first { commandLine($0) == commandLine(pid) && getsid($0) == $0 }
    }
}

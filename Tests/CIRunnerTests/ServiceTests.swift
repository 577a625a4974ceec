import Foundation
import Hypervisor
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// The real service: `nestci serve` as its own process on a temporary store, driven through
/// the CLI (`nestci trigger`), a moved branch, SIGKILL and SIGTERM.
@Suite("nestci serve", .serialized, .enabled(if: BootTools.qemu && NestCIBinary.path != nil, "needs qemu, GRUB tools and the built nestci executable"))
struct ServiceTests {
    /// A config that never fires by schedule during the test (daily, 12 hours from now).
    static func config(_ fixture: FixtureMatrix, watch: Bool, slots: Int = 2) throws -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let later = calendar.dateComponents([.hour, .minute], from: Date().addingTimeInterval(12 * 3600))
        let daily = String(format: "%02d:%02d", later.hour!, later.minute!)
        let text = """
            {"matrices": [{"path": "\(fixture.matrix)", "schedule": {"daily": "\(daily)", "timeZone": "UTC"}, "watch": \(watch)}],
             "pollSeconds": 1, "debounceSeconds": 0, "slots": \(slots), "dashboard": "\(fixture.folder)/dashboard"}
            """
        let path = "\(fixture.folder)/service.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func serve(_ fixture: FixtureMatrix, config: String) throws -> SupervisedProcess {
        // A stop is SIGTERM; the service gets the 10 s it promises before SIGKILL, so its
        // own teardown (not the harness) decides what happens to its emulators.
        try SupervisedProcess(
            ProcessSpec(NestCIBinary.path!, ["serve", "--store", fixture.store, "--config", config], timeout: .seconds(300), gracePeriod: .seconds(12)))
    }

    static func cli(_ arguments: [String]) async -> (Int32, String) {
        let (console, output) = Console.capturing()
        let status = await NestCI.main(arguments, console: console)
        return (status, output.out + output.err)
    }

    /// Waits until `condition` holds, polling the store.
    static func waitFor(_ what: String, seconds: Double = 240, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting for: \(what)")
        throw CancellationError()
    }

    @Test("a triggered run finishes; a moved branch starts a polled run")
    func triggerAndPoll() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let service = try Self.serve(fixture, config: try Self.config(fixture, watch: true))
        defer { service.stop() }
        let (status, output) = await Self.cli(["trigger", fixture.matrix, "--store", fixture.store, "--reason", "test trigger"])
        #expect(status == 0 && output.contains("queued request 1"))
        let store = try ArtifactStore(root: fixture.store)
        try await Self.waitFor("the triggered run to finish") {
            try await store.runs().contains { $0.trigger == "test trigger" && $0.status == .finished }
        }
        let triggered = try #require(try await store.runs().first { $0.trigger == "test trigger" })
        #expect(triggered.recordedCells == 16)

        // Move the branch the matrix builds from: the poller sees it and queues a run.
        let git = "git -c user.name=t -c user.email=t@t -c commit.gpgsign=false"
        let moved = try await SupervisedProcess.run(.shell("echo '/* moved */' >> fixture.c && \(git) commit -q -am 'move main'", workingDirectory: "\(fixture.folder)/kernels", timeout: .seconds(20)))
        #expect(moved.succeeded)
        try await Self.waitFor("a run started by the moved branch") {
            try await store.runs().contains { $0.trigger.contains("moved") }
        }
        let queue = try await store.queue()
        #expect(queue.contains { $0.reason.contains("branch main moved") })
        // The dashboard was published from the store, with the triggered run's page.
        let index = try String(contentsOfFile: "\(fixture.folder)/dashboard/index.html", encoding: .utf8)
        #expect(index.contains(triggered.id))
        #expect(FileManager.default.fileExists(atPath: "\(fixture.folder)/dashboard/runs/\(triggered.id)/index.html"))
        service.stop()
        let result = await service.wait()
        #expect(result.output.contains("starting run"))
        #expect(result.termination == .exited(0), "stopped by its own teardown")
        #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
    }

    @Test("SIGKILL mid-run, restart: the run completes and every finished cell is there exactly once, not run twice")
    func crashAndResume() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let config = try Self.config(fixture, watch: false, slots: 1)
        let store = try ArtifactStore(root: fixture.store)
        _ = await Self.cli(["trigger", fixture.matrix, "--store", fixture.store, "--reason", "crash test"])
        let first = try Self.serve(fixture, config: config)
        try await Self.waitFor("three cells recorded") {
            guard let run = try await store.runs().first else { return false }
            return run.recordedCells >= 3
        }
        kill(first.pid, SIGKILL)
        _ = await first.wait()
        let runID = try #require(try await store.runs().first?.id)
        let before = try await store.cells(runID: runID)
        let stamps = try before.map { try FileManager.default.attributesOfItem(atPath: "\(fixture.store)/runs/\(runID)/\($0.cellID)/result.json")[.modificationDate] as? Date }

        let second = try Self.serve(fixture, config: config)
        defer { second.stop() }
        try await Self.waitFor("the resumed run to finish") { try await store.run(runID)?.status == .finished }
        let after = try await store.cells(runID: runID)
        #expect(after.count == 16)
        #expect(Set(after.map(\.cellID)).count == 16)
        // Cells finished before the crash were not run again.
        for (cell, stamp) in zip(before, stamps) {
            let now = try FileManager.default.attributesOfItem(atPath: "\(fixture.store)/runs/\(runID)/\(cell.cellID)/result.json")[.modificationDate] as? Date
            #expect(now == stamp, "cell \(cell.cellID) finished before the crash and must not run again")
        }
        #expect(try await store.runs().count == 1, "resumed, not started anew")
        #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        second.stop()
        _ = await second.wait()
    }

    @Test("SIGTERM: stops within 10 s, tears the boots down, the run is interrupted and queued to resume")
    func gracefulStop() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let config = try Self.config(fixture, watch: false, slots: 1)
        let store = try ArtifactStore(root: fixture.store)
        _ = await Self.cli(["trigger", fixture.matrix, "--store", fixture.store])
        let service = try Self.serve(fixture, config: config)
        try await Self.waitFor("a cell recorded") { (try await store.runs().first?.recordedCells ?? 0) >= 1 }
        let stopAsked = Date()
        kill(service.pid, SIGTERM)
        let result = await service.wait()
        let stopSeconds = Date().timeIntervalSince(stopAsked)
        print("[serve] stopped \(String(format: "%.2f", stopSeconds)) s after SIGTERM")
        #expect(stopSeconds < 10)
        #expect(result.termination == .exited(0), "\(result.output.suffix(6000))")
        #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        let run = try #require(try await store.runs().first)
        #expect(run.status == .interrupted)
        let entry = try #require(try await store.queue().first)
        #expect(entry.state == .queued && entry.runID == run.id)
    }

    @Test("a schedule runs once, and does not repeat a run whose revisions did not change")
    func scheduleSkipsUnchanged() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let text = """
            {"matrices": [{"path": "\(fixture.matrix)", "schedule": {"everyHours": 1}}], "slots": 2,
             "dashboard": "\(fixture.folder)/dashboard"}
            """
        let config = "\(fixture.folder)/service.json"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let store = try ArtifactStore(root: fixture.store)
        // Never fired before: an every-N-hours schedule fires at once.
        let first = try Self.serve(fixture, config: config)
        try await Self.waitFor("the scheduled run to finish") { try await store.runs().first?.status == .finished }
        first.stop()
        _ = await first.wait()
        #expect(try await store.runs().first?.trigger == "schedule (every 1 h)")

        // Two hours later (as far as the schedule knows), nothing moved: not repeated.
        try await store.setServiceValue("schedule.fixture-run", String(Date().addingTimeInterval(-7200).timeIntervalSince1970))
        let second = try Self.serve(fixture, config: config)
        try await Self.waitFor("the schedule to fire again") {
            let value = try await store.serviceValue("schedule.fixture-run").flatMap(Double.init) ?? 0
            return value > Date().addingTimeInterval(-60).timeIntervalSince1970
        }
        try await Task.sleep(for: .seconds(1))
        second.stop()
        let log = await second.wait().output
        #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        #expect(log.contains("revisions unchanged since the last run, not repeated"), "\(log)")
        #expect(try await store.runs().count == 1)
        #expect(try await store.queue().count == 1)
    }
}
}

import Foundation
import Hypervisor
import Testing

@testable import CIRunner

/// The service's parts without the binary: the group's lifecycle and the state machines the
/// services carry out.
@Suite("Service group and state machines")
struct ServiceGroupTests {
    /// A service that notes when it started and ended.
    actor Probe: Service {
        nonisolated let name: String
        let journal: Mutex<[String]>
        let failAfter: Duration?
        init(_ name: String, journal: Mutex<[String]>, failAfter: Duration? = nil) {
            self.name = name
            self.journal = journal
            self.failAfter = failAfter
        }
        func run() async throws {
            journal.withLock { $0.append("start \(name)") }
            if let failAfter {
                try await Task.sleep(for: failAfter)
                throw TestError(description: "\(name) broke")
            }
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }  // ends on cancellation
            // A slow teardown: the next service must wait for it.
            await Pause.uncancellable(.milliseconds(50))
            journal.withLock { $0.append("end \(name)") }
        }
    }

    struct TestError: Error, CustomStringConvertible { var description: String }

    @Test("services start in order and are torn down in reverse, each after the later one ended")
    func orderedTeardown() async throws {
        let journal = Mutex<[String]>([])
        let group = ServiceGroup(services: ["a", "b", "c"].map { Probe($0, journal: journal) }, logger: .discarding)
        let running = Task { try await group.run() }
        while journal.withLock({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(10)) }
        guard case .running(let tasks) = await group.state else {
            Issue.record("not running")
            return
        }
        #expect(tasks.count == 3)
        await group.shutdown()
        try await running.value
        #expect(journal.withLock { $0.filter { $0.hasPrefix("end") } } == ["end c", "end b", "end a"])
        guard case .shutdown = await group.state else {
            Issue.record("not shut down")
            return
        }
    }

    @Test("a stage is cancelled together: a producer slow to end does not hold up its stage-mates, and earlier stages wait for the whole stage")
    func stagedTeardown() async throws {
        let journal = Mutex<[String]>([])
        let slow = SlowProbe("schedules", journal: journal)
        let group = ServiceGroup(
            stages: [[Probe("dashboard", journal: journal)], [Probe("queue", journal: journal), slow]], logger: .discarding)
        let running = Task { try await group.run() }
        while journal.withLock({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(10)) }
        await group.shutdown()
        try await running.value
        // The queue ended while the slow one was still ending; the dashboard only after both.
        #expect(journal.withLock { $0.filter { $0.hasPrefix("end") } } == ["end queue", "end schedules", "end dashboard"])
    }

    /// A service that takes half a second to end once cancelled (a store call in flight).
    actor SlowProbe: Service {
        nonisolated let name: String
        let journal: Mutex<[String]>
        init(_ name: String, journal: Mutex<[String]>) {
            self.name = name
            self.journal = journal
        }
        func run() async {
            journal.withLock { $0.append("start \(name)") }
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            await Pause.uncancellable(.milliseconds(500))
            journal.withLock { $0.append("end \(name)") }
        }
    }

    @Test("a service that throws stops the others, and the group rethrows its error")
    func failingService() async throws {
        let journal = Mutex<[String]>([])
        let group = ServiceGroup(
            services: [Probe("a", journal: journal), Probe("broken", journal: journal, failAfter: .milliseconds(50)), Probe("c", journal: journal)],
            logger: .discarding)
        let error = await #expect(throws: TestError.self) { try await group.run() }
        #expect(error?.description == "broken broke")
        #expect(journal.withLock { $0.filter { $0.hasPrefix("end") } } == ["end c", "end a"])
    }

    @Test("cancelling the group's task shuts it down")
    func cancellation() async throws {
        let journal = Mutex<[String]>([])
        let group = ServiceGroup(services: [Probe("a", journal: journal), Probe("b", journal: journal)], logger: .discarding)
        let running = Task { try await group.run() }
        while journal.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        running.cancel()
        try await running.value
        #expect(journal.withLock { $0.filter { $0.hasPrefix("end") } } == ["end b", "end a"])
    }

    // MARK: Queue

    static func entry(_ id: Int64, runID: String? = nil) -> QueueEntry {
        QueueEntry(
            id: id, matrixPath: "/m.json", matrix: "m", reason: "test", force: false, requested: Date(), state: .queued, runID: runID,
            cancelRequested: false, message: nil)
    }

    @Test("queue: one run at a time; every ending leaves the row done, cancelled, failed or queued, never running")
    func queueEndings() {
        let endings: [(QueueStateMachine.Ending, stop: Bool, QueueEntry.State)] = [
            (.finished, false, .done), (.cancelled, false, .cancelled), (.cancelled, true, .queued), (.failed("boom"), false, .failed),
            (.failed("boom"), true, .failed), (.finished, true, .done),
        ]
        for (ending, stop, expected) in endings {
            var machine = QueueStateMachine()
            let first = machine.next(Self.entry(1), newRunID: "r1")
            #expect(first == .start(entryID: 1, runID: "r1", resume: false))
            let second = machine.next(Self.entry(2), newRunID: "r2")
            #expect(second == .none, "one run at a time")
            if stop {
                let cancels = machine.stop()
                #expect(cancels, "a stop cancels the running run")
            }
            let record = machine.runEnded(ending)
            #expect(record?.state == expected, "\(ending) stop=\(stop)")
            let blocked = machine.next(Self.entry(2), newRunID: "r2")
            #expect(blocked == .none, "nothing starts before the row is written")
            machine.recorded(false)
            #expect(machine.unrecorded == record, "a refused write is kept for the next tick")
            machine.recorded(true)
            #expect(machine.unrecorded == nil)
            #expect(machine.state == (stop ? .stopped : .idle))
        }
    }

    @Test("queue: an interrupted run resumes with its id; cancel once; a failed start leaves it queued")
    func queueDecisions() {
        var machine = QueueStateMachine()
        let none = machine.next(nil, newRunID: "r")
        let resumed = machine.next(Self.entry(3, runID: "old"), newRunID: "new")
        #expect(none == .none)
        #expect(resumed == .start(entryID: 3, runID: "old", resume: true))
        machine.startFailed()
        #expect(machine.state == .idle)
        _ = machine.next(Self.entry(3), newRunID: "r3")
        let cancels = [machine.cancelRequested(), machine.cancelRequested(), machine.stop()]
        #expect(cancels == [true, false, false], "the task is cancelled once; a stop while cancelling cancels nothing more")
        let record = machine.runEnded(.cancelled)
        #expect(record?.state == .queued, "a stop during a cancel re-queues: the next service decides")
    }

    // MARK: Schedules

    @Test("schedules: loaded first, fired once when due, not again at the next tick")
    func scheduleMachine() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        var machine = ScheduleStateMachine(entries: [.init(matrix: "a", schedule: .everyHours(1)), .init(matrix: "b", schedule: .everyHours(6))])
        let unloaded = machine.tick(now: now)
        #expect(unloaded == [.load(matrix: "a"), .load(matrix: "b")])
        machine.loaded(matrix: "a", lastFired: now.addingTimeInterval(-7200))
        machine.loaded(matrix: "b", lastFired: now.addingTimeInterval(-3600))
        let ticks = [machine.tick(now: now), machine.tick(now: now.addingTimeInterval(1)), machine.tick(now: now.addingTimeInterval(3601))]
        // The second tick fires nothing: fired in memory even if the store write failed.
        #expect(ticks == [[.fire(matrix: "a", at: now)], [], [.fire(matrix: "a", at: now.addingTimeInterval(3601))]])
        #expect(ScheduleStateMachine.decide(revisions: "x=1", previous: "x=1") == .unchanged)
        #expect(ScheduleStateMachine.decide(revisions: "x=2", previous: "x=1") == .enqueue)
        #expect(ScheduleStateMachine.decide(revisions: nil, previous: "x=1") == .enqueue, "unknown revisions: run, do not hide a regression")
    }

    @Test("dashboard: published at start, then at most once per interval, and once more on stop if something changed")
    func publishThrottle() {
        let start = ContinuousClock.now
        var throttle = PublishThrottle(interval: .seconds(2))
        var published: [Bool] = []
        published.append(throttle.tick(now: start))
        published.append(throttle.tick(now: start + .seconds(1)))  // nothing changed
        throttle.changed()
        throttle.changed()
        published.append(throttle.tick(now: start + .seconds(1)))  // within the interval
        published.append(throttle.tick(now: start + .seconds(2)))
        published.append(throttle.tick(now: start + .seconds(5)))
        published.append(throttle.stopping())
        throttle.changed()
        published.append(throttle.stopping())
        #expect(published == [true, false, false, true, false, false, true])
    }
}

@Suite("Notification service")
struct NotificationServiceTests {
    @Test("a stop still delivers what was posted: the night's last run is not lost")
    func deliversOnStop() async throws {
        let server = try TinyHTTPServer(statuses: [200])
        defer { server.close() }
        let service = NotificationService(
            webhook: ServiceConfig.Webhook(url: server.url, timeoutSeconds: 5, retries: 1), logger: .discarding, tick: .seconds(3600))
        let running = Task { await service.run() }
        try await Task.sleep(for: .milliseconds(100))  // the service is in its (long) sleep
        let run = DashboardRun(
            RunResults(runID: "r1", matrix: "m", started: Date(), finished: Date(), cells: []), trigger: "test", commits: [:], findings: [])
        service.post(RunNotification(run: run))
        running.cancel()
        await running.value
        #expect(server.requests.count == 1)
        #expect(server.requests.first.map { String(decoding: $0.body, as: UTF8.self).contains("\"run\":\"r1\"") } == true)
    }
}

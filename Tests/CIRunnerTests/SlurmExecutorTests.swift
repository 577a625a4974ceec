import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// The Slurm executor against a real one-node Slurm cluster (slurmctld, slurmd, munged of
/// its own), booting the fixture kernels under qemu-tcg in Slurm tasks.
@Suite("Slurm executor on a one-node cluster", .serialized, .enabled(if: SlurmTestCluster.enabled, SlurmTestCluster.reason))
struct SlurmExecutorTests {
    @Test("the fixture matrix through Slurm has the same outcome per cell id as a local run; nothing is left queued")
    func sameOutcomesAsLocal() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail", "vmcs"]))
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let local = try await RunScheduler(options: RunOptions(store: "\(fixture.folder)/local-store", slots: 2)).run(plan, matrixPath: fixture.matrix)
        try await SlurmLocalCluster.with { cluster in
            let slurm = try await SlurmTestCluster.executor(cluster, store: fixture.store).run(plan, matrixPath: fixture.matrix, runID: nil, resume: false)
            let outcomes = { (run: RunOutcome) in Dictionary(uniqueKeysWithValues: run.results.cells.map { ($0.cellID, $0.outcome) }) }
            #expect(outcomes(slurm) == outcomes(local), "slurm \(slurm.results.cells.map { "\($0.cellID) \($0.reason)" })")
            #expect(Set(outcomes(slurm).values) == [.pass, .fail], "the fixture has passing and failing cells")
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty)
            let jobs = try await ArtifactStore(root: fixture.store).slurmJobs(runID: slurm.results.runID)
            #expect(jobs.map(\.kind) == [.builds, .cells], "the job ids are kept in the store")
        }
    }

    @Test("a cancelled run scancels its jobs: squeue empty and no emulator left")
    func cancelLeavesNothing() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { fixture.remove() }
        try KillTests.hangingBoots(fixture)
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        try await SlurmLocalCluster.with { cluster in
            let executor = SlurmTestCluster.executor(cluster, store: fixture.store)
            let run = Task { try await executor.run(plan, matrixPath: fixture.matrix, runID: nil, resume: false) }
            let emulators = try await KillTests.waitFor(1, seconds: 180) { EmulatorProcesses.matching(fixture.folder).count }
            try #require(emulators > 0, "a Slurm task should have started qemu")
            run.cancel()
            let ended = await run.result
            #expect(throws: CancellationError.self) { try ended.get() }
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty, "squeue after cancel")
            let left = try await KillTests.waitFor(0, seconds: 1) { EmulatorProcesses.matching(fixture.folder).count }
            #expect(left == 0, "emulators left: \(EmulatorProcesses.matching(fixture.folder))")
        }
    }

    @Test("slurmd killed mid-run with its tasks: they are INFRA, requeued once slurmd is back, and the run completes")
    func nodeLostMidRun() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { if ProcessInfo.processInfo.environment["NESTCI_KEEP"] == nil { fixture.remove() } else { print("kept \(fixture.folder)") } }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let events = Mutex<[String]>([])
        try await SlurmLocalCluster.with { cluster in
            let executor = SlurmTestCluster.executor(cluster, store: fixture.store) { event in
                if case .cellBooting(let cellID, let label, let attempt) = event { events.withLock { $0.append("\(cellID) \(attempt) \(label)") } }
            }
            let run = Task { try await executor.run(plan, matrixPath: fixture.matrix, runID: nil, resume: false) }
            let running = try await KillTests.waitFor(1, seconds: 180) { events.withLock { $0.filter { $0.contains("slurm job") }.count } }
            try #require(running > 0, "a cell task should be running")
            await cluster.killNode()
            // Down once slurmctld stops hearing from it (SlurmdTimeout=5), then back.
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline, !(try await cluster.client("sinfo", ["--noheader", "--format=%t"])).contains("down") {
                try await Task.sleep(for: .milliseconds(500))
            }
            try await Task.sleep(for: .seconds(2))
            try await cluster.startSlurmd()
            let outcome = try await run.value
            let lost = events.withLock { $0.filter { $0.contains("INFRA, requeued") } }
            #expect(!lost.isEmpty, "events: \(events.withLock { $0 })")
            #expect(Dictionary(uniqueKeysWithValues: outcome.results.cells.map { ($0.cellID, $0.outcome) }).values.sorted { $0.rawValue < $1.rawValue } == [.fail, .pass],
                "\(outcome.results.cells.map { "\($0.cellID) \($0.outcome.rawValue) \($0.reason)" })")
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty)
        }
    }

    @Test("SIGKILL of nestci run --executor slurm, then --resume RUN: the same jobs are watched and the run finishes")
    func resumeAfterKill() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { fixture.remove() }
        try await SlurmLocalCluster.with { cluster in
            let run = ["run", fixture.matrix, "--store", fixture.store, "--executor", "slurm"]
            let first = try SupervisedProcess(ProcessSpec(NestCIBinary.path!, run, environment: cluster.environment, timeout: .seconds(300)))
            let running = try await KillTests.waitFor(1, seconds: 180) {
                EmulatorProcesses.matching(fixture.folder).count
            }
            try #require(running > 0, "a Slurm task should be booting")
            kill(first.pid, SIGKILL)
            _ = await first.wait()
            // The jobs outlive the killed nestci; a fixture task may also simply finish in the
            // meantime, so what is checked is that the jobs are known and resumed, below.
            let store = try ArtifactStore(root: fixture.store)
            let runID = try #require(try await store.interruptedRuns().first?.id)
            let jobs = try await store.slurmJobs(runID: runID)
            #expect(!jobs.isEmpty, "the run's job ids are in the store")
            let second = try await SupervisedProcess.run(ProcessSpec(NestCIBinary.path!, run + ["--resume", runID], environment: cluster.environment, timeout: .seconds(300)))
            #expect(second.termination == .exited(1), "a fixture cell fails: \(second.output.suffix(2000))")
            #expect(Set(try await store.cells(runID: runID).map(\.outcome)) == [.pass, .fail])
            #expect(try await store.slurmJobs(runID: runID) == jobs, "no job submitted again")
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty)
        }
    }

    @Test("SIGTERM of nestci run --executor slurm: its jobs are scancelled before it exits (143), no emulator left")
    func sigtermScancels() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { fixture.remove() }
        try KillTests.hangingBoots(fixture)
        try await SlurmLocalCluster.with { cluster in
            let nestci = try SupervisedProcess(ProcessSpec(
                NestCIBinary.path!, ["run", fixture.matrix, "--store", fixture.store, "--executor", "slurm"], environment: cluster.environment, timeout: .seconds(300)))
            try #require(try await KillTests.waitFor(1, seconds: 180) { EmulatorProcesses.matching(fixture.folder).count } > 0, "a task should be booting")
            kill(nestci.pid, SIGTERM)
            let ended = await nestci.wait()
            #expect(ended.termination == .exited(143), "\(ended.output.suffix(1500))")
            // scancel came before the exit; Slurm's teardown of the tasks takes a moment (KillWait).
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, !(try await SlurmTestCluster.queue(cluster)).isEmpty { try await Task.sleep(for: .milliseconds(250)) }
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty, "squeue after SIGTERM")
            #expect(try await KillTests.waitFor(0, seconds: 1) { EmulatorProcesses.matching(fixture.folder).count } == 0)
        }
    }
}
}

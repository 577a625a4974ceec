import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealProcessSuite {
/// A distributed run's guarantees on the real one-node cluster: commits pinned at
/// submission, exit 75 requeued, `nestci serve` recovering its Slurm jobs, and a cluster
/// that leaves no job step behind.
@Suite("Slurm runs: pins, requeue, service recovery, teardown", .serialized, .enabled(if: SlurmTestCluster.enabled, SlurmTestCluster.reason))
struct SlurmRunTests {
    static let git = "git -c user.name=t -c user.email=t@t -c commit.gpgsign=false"

    static func outcomes(_ cells: [CellResult]) -> [String: Outcome] {
        Dictionary(uniqueKeysWithValues: cells.map { ($0.cellID, $0.outcome) })
    }

    @Test("a branch moved after submission: every build and cell task builds the commit it named at submission")
    func commitsPinnedAtSubmission() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let kernels = "\(fixture.folder)/kernels"
        let head = try await SupervisedProcess.run(.shell("git rev-parse HEAD", workingDirectory: kernels, timeout: .seconds(20))).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try await SlurmLocalCluster.with { cluster in
            // The node drained: every job waits in the queue while the branch moves.
            _ = try await cluster.client("scontrol", ["update", "nodename=\(cluster.node)", "state=drain", "reason=nestci-test"])
            let executor = SlurmTestCluster.executor(cluster, store: fixture.store)
            let run = Task { try await executor.run(plan, matrixPath: fixture.matrix, runID: nil, resume: false) }
            let store = try ArtifactStore(root: fixture.store)
            try await ServiceTests.waitFor("builds and cells submitted", seconds: 120) {
                guard let id = try await store.runs().first?.id else { return false }
                return try await store.slurmJobs(runID: id).count == 2
            }
            let moved = try await SupervisedProcess.run(.shell("echo '/* moved */' >> fixture.c && \(Self.git) commit -q -am 'move main'", workingDirectory: kernels, timeout: .seconds(20)))
            try #require(moved.succeeded, "\(moved.output)")
            _ = try await cluster.client("scontrol", ["update", "nodename=\(cluster.node)", "state=resume"])
            let outcome = try await run.value
            #expect(Set(outcome.results.cells.map(\.outcome)) == [.pass, .fail], "\(outcome.results.cells.map { "\($0.cellID) \($0.reason)" })")
            for cell in outcome.results.cells {
                #expect(!cell.commits.isEmpty && cell.commits.values.allSatisfy { $0 == head }, "cell \(cell.cellID): \(cell.commits), submitted at \(head)")
            }
            let pins = try ResolvedRevision.readPins(path: "\(fixture.store)/slurm/\(outcome.results.runID)/\(SlurmSpool.revisionsFile)")
            #expect(pins.map(\.commit) == [head])
        }
    }

    @Test("ingest refuses a bundle whose builds are of another commit than the run pinned")
    func ingestRefusesOtherCommits() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass"]))
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let record = try await Builder(store: URL(fileURLWithPath: "\(fixture.folder)/cache")).build(plan.builds[0].spec)
        let pinned = ResolvedRevision(repository: record.repository, revision: record.revision, commit: String(repeating: "a", count: 40))
        let run = BundleRun(runID: "r", matrix: plan.matrix, matrixDigest: "d", nestciVersion: NestCI.version, cells: plan.cells.map(\.id), revisions: [pinned])
        #expect(throws: BundleError.self) { try BundleIngester.check([record], pinnedBy: run, bundle: "b") }
        var same = record
        same.commit = pinned.commit
        try BundleIngester.check([same], pinnedBy: run, bundle: "b")
        var unpinned = run
        unpinned.revisions = nil
        try BundleIngester.check([record], pinnedBy: unpinned, bundle: "b")
    }

    @Test("a cell task that exits 75 (INFRA) once is requeued by the executor and the run ends with the cells' own outcomes")
    func exit75Requeued() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        // The tasks run this wrapper: the first `cell run` of each array index exits 75, as a
        // task whose host lost its emulator would; mkdir is the once-only marker. Index 0
        // takes 4 s: it is still running when the last index (which keeps the array's own
        // job id) is requeued, and a requeue by that id would requeue the whole array.
        let markers = "\(fixture.folder)/infra-once"
        try FileManager.default.createDirectory(atPath: markers, withIntermediateDirectories: true)
        let wrapper = "\(fixture.folder)/nestci-infra-once"
        try TestExecutable.write(
            """
                #!/bin/sh
                if [ "$1" = cell ] && mkdir \(ShellQuote.quote(markers))/"$SLURM_ARRAY_TASK_ID" 2>/dev/null; then
                    if [ "$SLURM_ARRAY_TASK_ID" = 0 ]; then sleep 4; fi
                    echo "exit 75 once (test)"; exit 75
                fi
                exec \(ShellQuote.quote(NestCIBinary.path!)) "$@"

                """, to: wrapper)
        let events = Mutex<[String]>([])
        try await SlurmLocalCluster.with { cluster in
            let executor = SlurmExecutor(
                options: RunOptions(store: fixture.store, slots: cluster.cpus, infraRetries: 1),
                slurm: SlurmOptions(nestci: wrapper, environment: cluster.environment)
            ) { event in
                if case .cellBooting(let cellID, let label, let attempt) = event { events.withLock { $0.append("\(cellID) \(attempt) \(label)") } }
            }
            let outcome = try await executor.run(plan, matrixPath: fixture.matrix, runID: nil, resume: false)
            let requeued = events.withLock { $0.filter { $0.contains("exited 75") } }
            #expect(requeued.count == plan.cells.count, "one requeue per cell: \(events.withLock { $0 })")
            #expect(Set(Self.outcomes(outcome.results.cells).values) == [.pass, .fail], "\(outcome.results.cells.map { "\($0.cellID) \($0.outcome.rawValue) \($0.reason)" })")
            for cell in plan.cells {
                #expect(FileManager.default.fileExists(atPath: "\(fixture.store)/slurm/\(outcome.results.runID)/bundles/1/\(cell.id)/manifest.json"), "attempt 1 made \(cell.id)'s bundle")
            }
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty)
        }
    }

    @Test("three cells per task: one task runs them in turn, its INFRA cell (exit 75) alone runs again on the requeue, and the outcomes are the local run's")
    func packedTaskRequeuesOnlyItsInfraCell() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail", "vmcs"]))
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        // The tasks find this qemu first on PATH: its first boot fails (INFRA; --version, the
        // host probe, passes), as an emulator that could not start on its host; nestci cell
        // run is logged and run as it is.
        let bin = "\(fixture.folder)/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let markers = "\(fixture.folder)/infra-once"
        try TestExecutable.write(
            """
                #!/bin/sh
                if [ "$1" != --version ] && mkdir \(ShellQuote.quote(markers)) 2>/dev/null; then echo "qemu: cannot start (test)" >&2; exit 1; fi
                exec /usr/bin/qemu-system-x86_64 "$@"

                """, to: "\(bin)/qemu-system-x86_64")
        let wrapper = "\(fixture.folder)/nestci-logged"
        try TestExecutable.write(
            """
                #!/bin/sh
                echo "$SLURM_ARRAY_TASK_ID $*" >> \(ShellQuote.quote(fixture.folder))/calls.txt
                exec \(ShellQuote.quote(NestCIBinary.path!)) "$@"

                """, to: wrapper)
        var environment = ProcessInfo.processInfo.environment.filter { $0.key == "PATH" }
        environment["PATH"] = "\(bin):\(environment["PATH"] ?? "/usr/bin:/bin")"
        let events = Mutex<[String]>([])
        try await SlurmLocalCluster.with { cluster in
            let executor = SlurmExecutor(
                options: RunOptions(store: fixture.store, slots: cluster.cpus, infraRetries: 1),
                slurm: SlurmOptions(nestci: wrapper, environment: cluster.environment.merging(environment) { own, _ in own }, cellsPerTask: 3)
            ) { event in
                if case .cellBooting(let cellID, let label, let attempt) = event { events.withLock { $0.append("\(cellID) \(attempt) \(label)") } }
            }
            let outcome = try await executor.run(plan, matrixPath: fixture.matrix, runID: nil, resume: false)
            let spool = "\(fixture.store)/slurm/\(outcome.results.runID)"
            #expect(try String(contentsOfFile: "\(spool)/\(SlurmSpool.tasksFile)", encoding: .utf8) == "0 1 2\n", "one task of the three cells")
            // At O0 the VMCS fixture passes (its fault is -O2 only).
            let expected: [String: Outcome] = ["pass": .pass, "fail": .fail, "vmcs": .pass]
            #expect(Self.outcomes(outcome.results.cells) == Dictionary(uniqueKeysWithValues: plan.cells.map { ($0.id, expected[$0.chain]!) }),
                "\(outcome.results.cells.map { "\($0.cellID) \($0.outcome.rawValue) \($0.reason)" })")
            let requeued = events.withLock { $0.filter { $0.contains("exited 75") } }
            try #require(requeued.count == 1, "one cell's first boot failed: \(events.withLock { $0 })")
            let infraCell = String(requeued[0].prefix { $0 != " " })
            let calls = try String(contentsOfFile: "\(fixture.folder)/calls.txt", encoding: .utf8).split(separator: "\n").filter { $0.contains(" cell run ") }
            #expect(calls.count == 2, "one nestci for the three cells, then one for the INFRA cell: \(calls)")
            #expect(calls.last.map { $0.components(separatedBy: "--cell ").count - 1 } == 1 && calls.last?.contains("--cell \(infraCell) ") == true, "\(calls)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(spool)/bundles/1").filter { !$0.hasPrefix(".") } == [infraCell])
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(spool)/bundles/0").filter { !$0.hasPrefix(".") }.count == 3, "attempt 0 left the INFRA cell's bundle too")
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty)
        }
    }

    @Test("nestci serve with the Slurm executor, SIGKILLed mid-run and started again: it watches the same jobs and the run finishes")
    func serviceRecoversSlurmRun() async throws {
        let fixture = try await FixtureMatrix.make(matrix: SlurmTestCluster.matrix(chains: ["pass", "fail"]))
        defer { fixture.remove() }
        let local = try ServiceTests.config(fixture, watch: false)
        let text = try String(contentsOfFile: local, encoding: .utf8)
        let config = "\(fixture.folder)/service-slurm.json"
        try text.replacingOccurrences(of: "{\"matrices\"", with: "{\"executor\": \"slurm\", \"matrices\"").write(toFile: config, atomically: true, encoding: .utf8)
        let store = try ArtifactStore(root: fixture.store)
        try await SlurmLocalCluster.with { cluster in
            let serve = { try SupervisedProcess(ProcessSpec(NestCIBinary.path!, ["serve", "--store", fixture.store, "--config", config], environment: cluster.environment, timeout: .seconds(300), gracePeriod: .seconds(12))) }
            let (status, output) = await ServiceTests.cli(["trigger", fixture.matrix, "--store", fixture.store, "--reason", "slurm crash test"])
            try #require(status == 0, "\(output)")
            let first = try serve()
            var runID = ""
            try await ServiceTests.waitFor("the run's jobs submitted", seconds: 180) {
                guard let id = try await store.runs().first?.id else { return false }
                runID = id
                return try await store.slurmJobs(runID: id).count == 2
            }
            kill(first.pid, SIGKILL)
            _ = await first.wait()
            let jobs = try await store.slurmJobs(runID: runID)
            #expect(try await store.cells(runID: runID).count < 2, "killed mid-run, before every cell was ingested")
            let second = try serve()
            defer { second.stop() }
            try await ServiceTests.waitFor("the recovered run to finish", seconds: 240) { try await store.run(runID)?.status == .finished }
            #expect(try await store.runs().count == 1, "recovered, not started anew")
            #expect(try await store.slurmJobs(runID: runID) == jobs, "no job submitted again")
            #expect(Set(try await store.cells(runID: runID).map(\.outcome)) == [.pass, .fail])
            #expect(try await SlurmTestCluster.queue(cluster).isEmpty)
            second.stop()
            _ = await second.wait()
        }
    }

    @Test("stopping the local cluster ends its jobs' slurmstepd and processes, and no other cluster's")
    func stopLeavesNoStep() async throws {
        let cluster = try await SlurmLocalCluster.start()
        defer { cluster.remove() }
        // Stands for another cluster's job process: stop must leave it alone.
        let bystander = try SupervisedProcess(ProcessSpec("/bin/sleep", ["300"], environment: ["SLURM_CONF": "\(cluster.folder)-other/slurm.conf"], timeout: .seconds(300)))
        defer { bystander.stop() }
        let id = try await cluster.client("sbatch", ["--parsable", "--wrap=sleep 600", "--output=/dev/null"])
        var steps: [Int32] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, steps.isEmpty {
            steps = cluster.jobProcesses().filter { RunProcesses.commandLine($0).hasPrefix("slurmstepd") }
            try await Task.sleep(for: .milliseconds(250))
        }
        try #require(!steps.isEmpty, "job \(id) should have a slurmstepd")
        await cluster.stop()
        #expect(cluster.jobProcesses().isEmpty, "left: \(cluster.jobProcesses().map { RunProcesses.commandLine($0) })")
        #expect(steps.allSatisfy { !ProcessTable.isRunning($0) })
        #expect(ProcessTable.isRunning(bystander.pid), "another cluster's process was killed")
        bystander.stop()
        _ = await bystander.wait()
    }
}
}

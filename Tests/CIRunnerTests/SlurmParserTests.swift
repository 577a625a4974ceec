import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// The parsers of Slurm's client output, on output captured from the one-node cluster here
/// (slurm-wlm 22.05: a 5-task array exiting 0, 1, 75 and sleeping), and the watch's
/// decisions on them.
@Suite("Slurm output parsers and watch decisions")
struct SlurmParserTests {
    static func fixture(_ name: String) throws -> String {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/slurm")
        return try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    @Test("scontrol --oneliner show job: a pending array is one record with the task range")
    func pendingArray() throws {
        let tasks = SlurmOutput.tasks(scontrol: try Self.fixture("scontrol-pending.txt"))
        #expect(tasks.count == 1)
        #expect(tasks[0].jobID == "1" && tasks[0].arrayJobID == "1" && tasks[0].taskID == nil && tasks[0].taskRange == "0-4")
        #expect(tasks[0].state == "PENDING" && !tasks[0].isFinal)
    }

    @Test("scontrol --oneliner show job: per-task state, exit code, restarts and node once tasks ran")
    func endedTasks() throws {
        let tasks = Dictionary(uniqueKeysWithValues: SlurmOutput.tasks(scontrol: try Self.fixture("scontrol-ended.txt")).compactMap { task in task.taskID.map { ($0, task) } })
        #expect(tasks[0]?.state == "COMPLETED" && tasks[0]?.exitCode == 0 && tasks[0]?.nodes == SlurmLocalCluster.shortHostname())
        #expect(tasks[1]?.state == "FAILED" && tasks[1]?.exitCode == 1 && tasks[1]?.reason == "NonZeroExitCode")
        #expect(tasks[2]?.exitCode == 75 && tasks[2]?.isFinal == true && tasks[2]?.restarts == 0)
        #expect(tasks[3]?.state == "RUNNING" && tasks[3]?.isFinal == false)
        #expect(tasks[2]?.jobID == "4" && tasks[2]?.arrayJobID == "1", "each task has its own job id once split")
    }

    @Test("squeue --noheader --array --format=%i|%T|%r and sbatch --parsable")
    func squeueAndSbatch() throws {
        let queue = SlurmOutput.queue(squeue: try Self.fixture("squeue-running.txt"))
        #expect(queue.map(\.id) == ["1_4", "1_2", "1_3"])
        #expect(queue.map(\.state) == ["PENDING", "RUNNING", "RUNNING"] && queue[0].reason == "Resources")
        #expect(SlurmOutput.queue(squeue: "").isEmpty)
        #expect(SlurmOutput.submittedJob(sbatch: "1234\n") == "1234")
        #expect(SlurmOutput.submittedJob(sbatch: "77;cluster2\n") == "77")
        #expect(SlurmOutput.submittedJob(sbatch: "sbatch: error: Batch job submission failed\n") == nil)
    }

    @Test("watch: exit 0/1 ingest, exit 75 requeues within the retries then ingests its INFRA bundle")
    func retries() throws {
        var watch = SlurmWatch(retries: 1)
        let tasks = SlurmOutput.tasks(scontrol: try Self.fixture("scontrol-ended.txt"))
        let actions = tasks.flatMap { watch.observe($0) }
        #expect(actions.contains(.ingest(index: 0, attempt: 0)) && actions.contains(.ingest(index: 1, attempt: 0)))
        #expect(actions.contains(.requeue(index: 2, jobID: "1_2", reason: "the task exited 75 (INFRA)")))
        // The array's last task keeps the array's job id (1): scontrol given "1" would act on
        // every task, so each task is named ARRAYJOB_INDEX.
        #expect(tasks.first { $0.taskID == 4 }.map { ($0.jobID, $0.taskSpec) } ?? ("", "") == ("1", "1_4"))
        #expect(actions.contains(.started(index: 3, jobID: "5", attempt: 0)))
        var again = tasks.first { $0.taskID == 2 }!
        again.state = "PENDING"
        again.reason = "BeginTime"
        again.restarts = 1
        #expect(watch.observe(again) == [.startNow(jobID: "1_2")])
        again.state = "FAILED"
        again.reason = "NonZeroExitCode"
        #expect(watch.observe(again) == [.ingest(index: 2, attempt: 1)], "retries spent: the INFRA bundle is the result")
        #expect(watch.observe(again).isEmpty, "decided once")
    }

    @Test("watch: a running task found pending with one more restart was lost with its node; NODE_FAIL is requeued")
    func nodeLoss() throws {
        var watch = SlurmWatch(retries: 2)
        var task = SlurmTask(jobID: "9", arrayJobID: "8", taskID: 0, state: "RUNNING", reason: "None", exitCode: 0, signal: 0, restarts: 0, nodes: "n1")
        #expect(watch.observe(task) == [.started(index: 0, jobID: "9", attempt: 0)])
        task.state = "PENDING"
        task.reason = "BeginTime"
        task.restarts = 1
        let actions = watch.observe(task)
        #expect(actions.count == 2 && actions.last == .startNow(jobID: "8_0"))
        if case .lost(0, 0, _) = actions.first {} else { Issue.record("expected .lost, got \(actions)") }
        task.state = "NODE_FAIL"
        task.reason = "NodeDown"
        #expect(watch.observe(task).first.map { if case .requeue(0, "8_0", _) = $0 { true } else { false } } == true)
        task.restarts = 2
        if case .infra(0, _, nil) = watch.observe(task).last {} else { Issue.record("retries spent: INFRA") }
        var killed = SlurmWatch(retries: 1)
        task.state = "FAILED"
        task.reason = "NonZeroExitCode"
        task.restarts = 0
        task.exitCode = 0
        #expect(killed.observe(task, scriptEnded: false).first.map { if case .requeue = $0 { true } else { false } } == true,
            "ended without the script's exit status: killed with its node")
    }

    @Test("array specs, time limits and constraints per backend")
    func submission() throws {
        #expect(SlurmSpool.arraySpec([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
        #expect(SlurmSpool.arraySpec([3]) == "3")
        let plan = try MatrixFile.parse(FixtureMatrix.matrixText.replacingOccurrences(of: "\"backend\": [\"qemu-tcg\"]", with: "\"backend\": [\"qemu-tcg\", \"qemu-kvm\"]")).plan()
        let groups = SlurmSpool.groups(plan, slurm: SlurmOptions())
        #expect(Set(groups.map(\.constraint)) == [nil, "kvm"])
        #expect(groups.map(\.cells.count).reduce(0, +) == plan.cells.count)
        #expect(groups.allSatisfy { $0.minutes >= 1 + SlurmOptions().marginMinutes })
        // A cell array per build: each waits for its own build task only.
        #expect(groups.allSatisfy { $0.builds.count == 1 } && Set(groups.flatMap(\.builds)) == Set(plan.builds.indices))
        for group in groups {
            for index in group.cells {
                #expect(plan.cells[index].levels.compactMap { $0.build?.key } == [plan.builds[group.builds[0]].key])
            }
        }
        #expect(SlurmSpool.dependency(buildJob: "41", builds: [0, 3]) == ["--dependency=afterany:41_0:41_3"])
        #expect(SlurmSpool.dependency(buildJob: nil, builds: [0]).isEmpty)
    }

    @Test("the task scripts quote every value: a spool path with $(…) and quotes runs nothing")
    func scriptsQuote() async throws {
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-spool-\(UUID().uuidString.prefix(6)) $(touch pwned) 'x").path
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        try SlurmSpool.writeScripts(spool, nestci: "/bin/echo", cache: "\(spool)/c`id`", runID: "r1", builderNoWorkarounds: false)
        try "cell-a\n".write(toFile: "\(spool)/cells.txt", atomically: true, encoding: .utf8)
        try "0\n".write(toFile: "\(spool)/\(SlurmSpool.tasksFile)", atomically: true, encoding: .utf8)
        try "\(spool)/m $(x).json\n".write(toFile: "\(spool)/matrix.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(spool)/status", withIntermediateDirectories: true)
        let result = try await runScript("\(spool)/\(SlurmSpool.cellScript)", in: spool)
        #expect(result.status == 0)
        #expect(result.output.contains("cell run \(spool)/m $(x).json --cell cell-a --out \(spool)/bundles/0 --cache \(spool)/c`id` --run-id r1"))
        #expect(!FileManager.default.fileExists(atPath: "\(spool)/pwned") && !FileManager.default.fileExists(atPath: "pwned"))
        #expect(result.output.contains("--status-dir \(spool)/status --attempt 0"), "nestci writes each cell's status: \(result.output)")
    }

    @Test("a task of several cells runs them in turn, exits 75 when one did, and once requeued runs only the cells that did not finish")
    func packedTaskScript() async throws {
        let scratch = try EvidenceTestDirectory()
        defer { withExtendedLifetime(scratch) {} }  // its deinit removes the folder
        let spool = scratch.url.path
        try FileManager.default.createDirectory(atPath: "\(spool)/status", withIntermediateDirectories: true)
        // The stand-in for nestci cell run: says which cells it ran and writes each one's
        // status as nestci does, the status the cell's exit-<id> file holds (0 once the file is
        // gone: the retry of an INFRA cell passes); exits 75 when one was 75.
        let quoted = ShellQuote.quote(spool)
        let fake = try scratch.executable("fake-nestci", """
            #!/bin/sh
            cells=; dir=; attempt=
            while [ $# -gt 0 ]; do
              case "$1" in --cell) cells="$cells $2"; shift ;; --status-dir) dir=$2; shift ;; --attempt) attempt=$2; shift ;; esac
              shift
            done
            worst=0
            for cell in $cells; do
              echo "ran $cell"
              status=0
              [ -f \(quoted)/"exit-$cell" ] && status=$(cat \(quoted)/"exit-$cell")
              index=$(( $(grep -n "^$cell$" \(quoted)/cells.txt | cut -d: -f1) - 1 ))
              echo "$status" > "$dir/$index.$attempt"
              [ "$status" -eq 75 ] && worst=75
            done
            exit "$worst"

            """)
        try SlurmSpool.writeScripts(spool, nestci: fake, cache: "\(spool)/cache", runID: "r1", builderNoWorkarounds: false)
        try "cell-a\ncell-b\ncell-c\ncell-d\n".write(toFile: "\(spool)/cells.txt", atomically: true, encoding: .utf8)
        let plan = try MatrixFile.parse(FixtureMatrix.matrixText).plan()
        var options = SlurmOptions()
        options.cellsPerTask = 3
        let groups = SlurmSpool.groups(plan, slurm: options)
        #expect(groups.flatMap(\.tasks).map(\.cells.count).allSatisfy { $0 <= 3 } && groups.flatMap(\.cells).sorted() == Array(plan.cells.indices))
        #expect(groups.flatMap(\.tasks).map(\.index) == Array(0..<groups.flatMap(\.tasks).count), "array indices count the tasks")
        let single = SlurmSpool.groups(plan, slurm: SlurmOptions())
        #expect(groups[0].minutes - options.marginMinutes == 3 * (single[0].minutes - options.marginMinutes), "three cells' limits one after another, the margin once")
        try SlurmSpool.writeTasks(spool, groups: [SlurmSpool.CellGroup(constraint: nil, minutes: 1, builds: [], tasks: [(0, [3]), (1, [0, 1, 2])])])
        #expect(SlurmSpool.taskCells(spool, cells: 4) == [0: [3], 1: [0, 1, 2]])
        try "75".write(toFile: "\(spool)/exit-cell-b", atomically: true, encoding: .utf8)
        try "1".write(toFile: "\(spool)/exit-cell-c", atomically: true, encoding: .utf8)
        let first = try await runScript("\(spool)/\(SlurmSpool.cellScript)", in: spool, task: 1)
        #expect(first.status == 75, "a cell exited 75: the task asks for its requeue")
        #expect(first.output.split(separator: "\n").filter { $0.hasPrefix("ran") } == ["ran cell-a", "ran cell-b", "ran cell-c"])
        #expect(Set(SlurmSpool.statuses(spool).map { "\($0.key).\($0.value.attempt)=\($0.value.exit)" }) == ["0.0=0", "1.0=75", "2.0=1"])
        try FileManager.default.removeItem(atPath: "\(spool)/exit-cell-b")
        let again = try await runScript("\(spool)/\(SlurmSpool.cellScript)", in: spool, task: 1, attempt: 1)
        #expect(again.status == 0)
        #expect(again.output.split(separator: "\n").filter { $0.hasPrefix("ran") } == ["ran cell-b"], "PASS and FAIL of attempt 0 are kept, only the INFRA cell runs again")
        #expect(Set(SlurmSpool.statuses(spool).map { "\($0.key).\($0.value.attempt)=\($0.value.exit)" }) == ["0.0=0", "1.1=0", "2.0=1"])
    }

    @Test("a packed task's cells: each finished cell is decided on its own status, the others on the task's end")
    func packedCellViews() {
        let running = SlurmTask(jobID: "7", arrayJobID: "5", taskID: 1, state: "RUNNING", reason: "None", exitCode: 0, signal: 0, restarts: 0, nodes: "n1")
        let statuses: [Int: (attempt: Int, exit: Int)] = [0: (0, 0), 1: (0, 75)]
        var watch = SlurmWatch(retries: 1)
        let whileRunning = SlurmWatch.cellViews(of: running, cells: [0, 1, 2], statuses: statuses).flatMap { watch.observe($0.task, scriptEnded: $0.scriptEnded) }
        #expect(whileRunning == [.ingest(index: 0, attempt: 0), .started(index: 1, jobID: "5_1", attempt: 0), .started(index: 2, jobID: "5_1", attempt: 0)],
            "a finished cell goes in while its task runs; a 75 waits for the task's end (a requeue now would kill cell 2)")
        var ended = running
        ended.state = "FAILED"
        ended.reason = "NonZeroExitCode"
        ended.exitCode = 75
        let atEnd = SlurmWatch.cellViews(of: ended, cells: [0, 1, 2], statuses: statuses).flatMap { watch.observe($0.task, scriptEnded: $0.scriptEnded) }
        #expect(atEnd.count == 2 && atEnd.allSatisfy { if case .requeue(_, "5_1", _) = $0 { true } else { false } }, "\(atEnd)")
        if case .requeue(1, _, let reason) = atEnd.first { #expect(reason == "the task exited 75 (INFRA)") } else { Issue.record("cell 1 requeued: \(atEnd)") }
        if case .requeue(2, _, let reason) = atEnd.last { #expect(reason.contains("before nestci cell run wrote its exit status")) } else { Issue.record("cell 2 requeued: \(atEnd)") }
        // Attempt 1 ran only cells 1 and 2; cell 0's status of attempt 0 still stands.
        var second = ended
        second.restarts = 1
        second.state = "COMPLETED"
        second.exitCode = 0
        let views = SlurmWatch.cellViews(of: second, cells: [0, 1, 2], statuses: [0: (0, 0), 1: (1, 0), 2: (1, 1)])
        #expect(views.map { "\($0.task.taskID!):\($0.task.restarts):\($0.task.exitCode!):\($0.scriptEnded)" } == ["0:0:0:true", "1:1:0:true", "2:1:1:true"])
        #expect(views.flatMap { watch.observe($0.task, scriptEnded: $0.scriptEnded) } == [.ingest(index: 1, attempt: 1), .ingest(index: 2, attempt: 1)])
    }

    @Test("a Slurm client killed because the run was cancelled is a cancellation, not a failure of Slurm")
    func cancelledClient() async throws {
        let scratch = try EvidenceTestDirectory()
        defer { withExtendedLifetime(scratch) {} }  // its deinit removes the folder
        try scratch.executable("scontrol", "#!/bin/sh\nsleep 30\n")
        let executor = SlurmExecutor(
            options: RunOptions(store: scratch.path("store"), slots: 1),
            slurm: SlurmOptions(environment: ["PATH": "\(scratch.url.path):/usr/bin:/bin"]))
        let call = Task { try await executor.client("scontrol", ["--oneliner", "show", "job", "1"]) }
        try await Task.sleep(for: .milliseconds(500))
        call.cancel()
        let started = ContinuousClock.now
        let result = await call.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ContinuousClock.now - started < .seconds(25), "the client is killed, not waited for")
    }

    @Test("a task that ends while scontrol is asked is decided on the exit status its script wrote, not taken for killed with its node")
    func statusesReadAfterScontrol() async throws {
        let scratch = try EvidenceTestDirectory()
        defer { withExtendedLifetime(scratch) {} }  // its deinit removes the folder
        let spool = scratch.path("spool")
        try FileManager.default.createDirectory(atPath: "\(spool)/status", withIntermediateDirectories: true)
        // The task's script writes its status and exits while this scontrol runs: scontrol
        // then reports it ended, as a real task ending mid-poll is seen (CI caught the watch
        // reading the statuses before it, and requeueing a FAIL as lost with its node).
        let ended = try Self.fixture("scontrol-ended.txt").split(separator: "\n").first { $0.contains("ArrayTaskId=1 ") }!
        try scratch.executable(
            "scontrol", "#!/bin/sh\nprintf '1\\n' > \(ShellQuote.quote("\(spool)/status/1.0"))\nprintf '%s\\n' \(ShellQuote.quote(String(ended)))\n")
        let executor = SlurmExecutor(
            options: RunOptions(store: scratch.path("store"), slots: 1),
            slurm: SlurmOptions(environment: ["PATH": "\(scratch.url.path):/usr/bin:/bin"]))
        let job = SlurmJobRecord(runID: "r", jobID: "1", kind: .cells, spool: spool, submitted: Date())
        let observed = try await executor.observe([job], spool: spool, taskCells: [1: [1]], machine: SlurmWatch(retries: 1))
        let view = try #require(observed.first?.tasks.first?.views.first)
        #expect(view.scriptEnded && view.task.state == "FAILED" && view.task.exitCode == 1)
        var machine = SlurmWatch(retries: 1)
        #expect(machine.observe(view.task, scriptEnded: view.scriptEnded) == [.ingest(index: 1, attempt: 0)])
    }

    func runScript(_ path: String, in folder: String, task: Int = 0, attempt: Int? = nil) async throws -> (status: Int32, output: String) {
        var environment = ["SLURM_ARRAY_TASK_ID": String(task)]
        if let attempt { environment["SLURM_RESTART_COUNT"] = String(attempt) }
        let result = try await SupervisedProcess.run(ProcessSpec("/bin/sh", [path], environment: environment, workingDirectory: folder, timeout: .seconds(30)))
        guard case .exited(let status) = result.termination else { return (-1, result.output) }
        return (status, result.output)
    }
}

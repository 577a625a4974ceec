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
        let groups = SlurmSpool.groups(plan, slurm: SlurmOptions(), retries: 2)
        #expect(Set(groups.map(\.constraint)) == [nil, "kvm"])
        #expect(groups.map(\.indices.count).reduce(0, +) == plan.cells.count)
        #expect(groups.allSatisfy { $0.minutes >= 1 + SlurmOptions().marginMinutes })
        // A cell array per build: each waits for its own build task only.
        #expect(groups.allSatisfy { $0.builds.count == 1 } && Set(groups.flatMap(\.builds)) == Set(plan.builds.indices))
        for group in groups {
            for index in group.indices {
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
        try "\(spool)/m $(x).json\n".write(toFile: "\(spool)/matrix.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(spool)/status", withIntermediateDirectories: true)
        let result = try await runScript("\(spool)/\(SlurmSpool.cellScript)", in: spool)
        #expect(result.status == 0)
        #expect(result.output.contains("cell run \(spool)/m $(x).json --cell cell-a --out \(spool)/bundles/0 --cache \(spool)/c`id` --run-id r1"))
        #expect(!FileManager.default.fileExists(atPath: "\(spool)/pwned") && !FileManager.default.fileExists(atPath: "pwned"))
        #expect(SlurmSpool.statuses(spool).map(\.exit) == [0])
    }

    func runScript(_ path: String, in folder: String) async throws -> (status: Int32, output: String) {
        let result = try await SupervisedProcess.run(ProcessSpec("/bin/sh", [path], environment: ["SLURM_ARRAY_TASK_ID": "0"], workingDirectory: folder, timeout: .seconds(30)))
        guard case .exited(let status) = result.termination else { return (-1, result.output) }
        return (status, result.output)
    }
}

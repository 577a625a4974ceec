import Foundation
import Hypervisor
import Matrix

/// `nestci run FILE`: plan → builds → disks → boots → verdicts, with evidence kept per cell.
enum RunCommand {
    static let spec = CommandSpec(
        name: "run", summary: "build and boot every cell of a matrix and judge it from the serial console",
        discussion: """
            Each cell boots as soon as its own builds are done, in at most --slots boots at once. Every
            emulator runs in its own process group with the chain's boot timeout and is stopped the
            moment a pass or fail line decides. Results go to STORE/runs/<run>/ (results.json, and per
            cell serial.log, vmcs.json, verdict.json, reproduce.sh, build logs).
            Exit status 0 if every cell passed or was skipped; 75 (EX_TEMPFAIL) if the only failures
            were INFRA (the host or nestci's harness: retry later); 1 if the hypervisor failed (FAIL,
            TIMEOUT, BUILD-FAIL, FLAKY); 130/143 when interrupted (nothing torn down is recorded).
            --executor slurm submits the build keys as one job array and the cells as job arrays that
            wait for it (afterany), each task with --time from its timeouts and a --constraint per
            backend; watches them with scontrol/squeue and ingests each bundle as its task ends. A task
            that exits 75 or is lost with its node is requeued up to --retries times. Interrupting the
            run (or `nestci cancel`) scancels its jobs; the job ids are in the store, so after a kill
            `nestci run FILE --executor slurm --resume RUN` watches the same jobs. Set SLURM_CONF etc.
            as for any Slurm client.
            """,
        arguments: [.init("FILE", help: "the matrix file (JSON)")],
        options: [
            CommonOptions.store,
            .init("slots", value: "N", help: "boots at once (default: the number of cores)"),
            .init("retries", value: "N", help: "re-runs of a cell whose harness failed (INFRA) (default 2)"),
            .init("rerun-failed", value: "N", help: "re-run FAIL/TIMEOUT cells up to N times; a later PASS is FLAKY"),
            .init("fail-fast", help: "boot nothing new after the first failure"),
            .init("canary", help: "first boot a known-good kernel on each backend; a backend that fails makes its cells INFRA (nestci serve always does)"),
            .init("cell", value: "ID", repeatable: true, help: "only this cell (from `nestci plan`); repeatable"),
            .init("junit", value: "FILE", help: "also write JUnit XML"),
            .init("trigger", value: "TEXT", help: "why this run happened (kept with the run)"),
        ] + CommonOptions.buildOptions.filter { $0.name != "only" } + executorOptions)

    static let entry = CommandEntry(spec) { arguments, console in
        let matrixPath = arguments.positionals[0]
        let outcome = try await run(matrixPath: matrixPath, arguments: arguments, console: console)
        return exitStatus(outcome.results)
    }

    /// 0 when every cell passed or was skipped; 75 when the only failures are INFRA, so a
    /// scheduler retries rather than blaming the hypervisor; 1 otherwise.
    static func exitStatus(_ results: RunResults) -> ExitStatus {
        let unacceptable = results.cells.filter { !$0.outcome.isAcceptable }
        if unacceptable.isEmpty { return .success }
        return unacceptable.allSatisfy { $0.outcome == .infra } ? .tempFail : .failure
    }

    /// Runs the matrix with the options in `arguments`; shared with `nestci demo`.
    static func run(matrixPath: String, arguments: ParsedArguments, console: Console) async throws -> RunOutcome {
        var plan = try MatrixFile.load(path: matrixPath).plan()
        let wanted = Set(arguments.all("cell"))
        if !wanted.isEmpty {
            let unknown = wanted.subtracting(plan.cells.map(\.id))
            if let first = unknown.sorted().first {
                throw UsageError("--cell \(first): no such cell in this matrix; `nestci plan \(matrixPath)` lists them", command: spec)
            }
            plan.cells = plan.cells.filter { wanted.contains($0.id) }
            plan.builds = plan.builds.filter { !wanted.isDisjoint(with: $0.cellIDs) }
        }
        var options = RunOptions(store: CommonOptions.storePath(arguments), builder: try CommonOptions.builderOptions(arguments, spec: spec))
        if let slots = try arguments.int("slots", in: 1...256, command: spec) { options.slots = slots }
        if let retries = try arguments.int("retries", in: 0...10, command: spec) { options.infraRetries = retries }
        if let reruns = try arguments.int("rerun-failed", in: 0...10, command: spec) { options.rerunFailed = reruns }
        options.failFast = arguments.flag("fail-fast")
        // Off by default here: a developer's run should start booting at once.
        if arguments.flag("canary") { options.canary = HostCanary() }
        options.trigger = arguments.value("trigger") ?? "manual"
        let executor = try executorChoice(arguments)
        let progress = RunProgress(console: console)
        // A signal ends nestci at once: the Slurm jobs are scancelled first.
        SignalTrap.install(beforeTeardown: { SlurmExecutor.cancelActiveNow() })
        let resume = arguments.value("resume")
        let outcome = try await executor.executor(options, onEvent: progress.handle).run(plan, matrixPath: matrixPath, runID: resume, resume: resume != nil)
        let results = outcome.results
        progress.finish()
        console.print("")
        console.print(RunProgress.summary(results))
        if !outcome.findings.isEmpty {
            console.print("")
            console.print("findings (nestci report \(results.runID) --store \(options.store)):")
            for finding in outcome.findings { console.print(finding.text) }
        }
        for warning in KnownIssue.active(plan.knownIssues, on: results.finished).warnings { console.print("warning: \(warning)") }
        let folder = RunLayout(store: options.store).run(results.runID)
        console.print("results: \(folder)/\(RunLayout.resultsFile)")
        let dashboard = "\(options.store)/dashboard"
        do {
            try await DashboardPublisher(store: ArtifactStore(root: options.store), folder: dashboard).publish()
            console.print("dashboard: file://\(dashboard)/runs/\(results.runID)/index.html")
        } catch {
            console.error("nestci: the dashboard was not updated: \(error)")
        }
        if let junit = arguments.value("junit") {
            try AtomicFile.write(JUnitReport.xml(results), to: URL(fileURLWithPath: junit).standardizedFileURL.path)
            console.print("junit: \(junit)")
        }
        return outcome
    }
}

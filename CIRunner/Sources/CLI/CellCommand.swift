import Foundation
import Hypervisor
import Matrix

/// `nestci cell run FILE --cell ID|--index N --out DIR`: one cell into a result bundle,
/// the unit of work of a Slurm task, a Kubernetes pod or a GitHub Actions job.
enum CellCommand {
    static let spec = CommandSpec(
        name: "cell", summary: "run one cell of a matrix into a result bundle (a cluster task's unit of work)",
        discussion: """
            nestci cell run FILE --cell ID|--index N --out DIR [--cache DIR] [--run-id ID]
            Builds the cell's levels (reusing the build cache, which may be shared by every task
            of the run, NFS included), makes its disks, boots and judges it as `nestci run` does,
            and writes OUT/<cell id>/: result, serial log, VMCS JSON, build logs, reproduce.sh,
            host fingerprint and a manifest with the SHA-256 of every file. Touches no store;
            `nestci ingest` folds bundles into one. The bundle appears by one rename, so a killed
            task leaves none. --index N is the Nth cell of `nestci plan` (from 0).
            Exit status 0 PASS or SKIP; 1 the hypervisor failed (FAIL, TIMEOUT, BUILD-FAIL,
            FLAKY); 75 INFRA, or the bundle could not be written: retry the task.
            """,
        arguments: [.init("ACTION", help: "run"), .init("FILE", help: "the matrix file (JSON)")],
        options: [
            .init("cell", value: "ID", repeatable: true, help: "the cell (from `nestci plan`); given again, the cells run one after another in this process"),
            .init("index", value: "N", help: "the Nth cell of the plan, from 0 (e.g. $JOB_COMPLETION_INDEX, $SLURM_ARRAY_TASK_ID)"),
            .init("backend", value: "B", help: "with --index: count only the cells of backend B (one Kubernetes Job per backend)"),
            .init("out", value: "DIR", help: "where the bundle goes: DIR/<cell id>/"),
            cache,
            .init("run-id", value: "ID", help: "the run the bundle belongs to (default: $NESTCI_RUN_ID, else a new id); start it with the UTC time as nestci's ids do, runs sort by id"),
            .init("retries", value: "N", help: "re-boots of a cell whose harness failed (INFRA) (default 2)"),
            .init("no-workarounds", help: "do not add toolchain workaround flags"),
            CommonOptions.revisions,
            .init("status-dir", value: "DIR", help: "write each cell's exit status to DIR/<plan index>.<attempt> once its bundle is in place (a cluster task's record of which cells finished)"),
            .init("attempt", value: "N", help: "with --status-dir: the attempt the status files name (default 0; a Slurm task gives $SLURM_RESTART_COUNT)"),
        ])

    static let cache = CommandSpec.Option("cache", value: "DIR", help: "the build cache, shareable by many hosts (default: $NESTCI_CACHE, else ./nestci-cache)")

    /// The cache folder the user chose, made absolute.
    static func cachePath(_ arguments: ParsedArguments) -> String {
        let chosen = arguments.value("cache") ?? ProcessInfo.processInfo.environment["NESTCI_CACHE"] ?? "nestci-cache"
        return URL(fileURLWithPath: chosen).standardizedFileURL.path
    }

    static let entry = CommandEntry(spec) { arguments, console in
        guard arguments.positionals[0] == "run" else {
            throw UsageError("unknown action \"\(arguments.positionals[0])\" (the action is run: nestci cell run FILE --cell ID --out DIR)", command: spec)
        }
        let matrixPath = arguments.positionals[1]
        let plan = try MatrixFile.load(path: matrixPath).plan()
        let indices = try cellIndices(plan, arguments: arguments, matrixPath: matrixPath)
        guard let out = arguments.value("out") else { throw UsageError("--out DIR is needed: the folder the bundle goes into", command: spec) }
        let runID = arguments.value("run-id") ?? ProcessInfo.processInfo.environment["NESTCI_RUN_ID"] ?? ArtifactStore.newRunID()
        guard StoreFiles.isSafeComponent(runID) else {
            throw UsageError("--run-id \(runID): use letters, digits, '.', '_' and '-', not starting with '.'", command: spec)
        }
        let statusDir = arguments.value("status-dir").map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let attempt = try arguments.int("attempt", in: 0...10_000, command: spec) ?? 0
        if arguments.value("attempt") != nil, statusDir == nil { throw UsageError("--attempt N names status files: give --status-dir DIR too", command: spec) }
        let cache = cachePath(arguments)
        var options = RunOptions(store: cache, slots: 1)
        if let retries = try arguments.int("retries", in: 0...10, command: spec) { options.infraRetries = retries }
        options.builder.noWorkarounds = arguments.flag("no-workarounds")
        options.builder.pinnedRevisions = try CommonOptions.pinnedRevisions(arguments, spec: spec)
        // Strays of a dead nestci on this host and cache are ended (the ledger is per host).
        ProcessRegistry.shared.attachLedger(store: cache)
        SignalTrap.install()
        let runner = CellBundleRunner(
            options: options, cache: cache, out: URL(fileURLWithPath: out).standardizedFileURL.path, runID: runID,
            onEvent: RunProgress(console: console).handle)
        let matrixDigest = try CellBundle.matrixDigest(path: matrixPath)
        // Several cells: each is its own bundle and status; one that cannot finish (INFRA,
        // exit 75) does not stop the others, and the process exits 75 when any did, else
        // with the first failure.
        var statuses: [ExitStatus] = []
        var failure: UserError?
        for index in indices {
            let status: ExitStatus
            do {
                let (bundle, folder) = try await runner.run(plan, index: index, matrixDigest: matrixDigest)
                console.print("cell \(bundle.cellID): \(bundle.outcome.rawValue)")
                console.print("bundle: \(folder)")
                status = bundle.exitStatus
            } catch {
                // The run's and the store's errors are this cell's INFRA; anything else
                // (cancellation) ends the call.
                guard let message = (error as? RunError)?.message ?? (error as? StoreError)?.message else { throw error }
                // One cell: the error is the call's (after its status is written). Several:
                // said here, and the next cell runs.
                if indices.count == 1 { failure = UserError(message, status: .tempFail) } else { console.error("nestci: cell \(plan.cells[index].id): \(message)") }
                status = .tempFail
            }
            if let statusDir {
                do {
                    try AtomicFile.write(Data("\(status.rawValue)\n".utf8), to: "\(statusDir)/\(index).\(attempt)")
                } catch {
                    throw UserError("cannot write the status of cell \(plan.cells[index].id) to \(statusDir): \(error) (is --status-dir writable?)", status: .tempFail)
                }
            }
            statuses.append(status)
        }
        if indices.count == 1, let failure { throw failure }
        return statuses.first { $0 == .tempFail } ?? statuses.first { $0 != .success } ?? .success
    }

    /// The cells `--cell ID` (once or more, in that order) or `--index N` name.
    static func cellIndices(_ plan: Plan, arguments: ParsedArguments, matrixPath: String) throws -> [Int] {
        let ids = arguments.all("cell")
        guard ids.count > 1 else { return [try cellIndex(plan, arguments: arguments, matrixPath: matrixPath)] }
        if arguments.value("index") != nil { throw UsageError("give exactly one of --cell ID and --index N", command: spec) }
        if arguments.value("backend") != nil { throw UsageError("--backend counts --index N; with --cell ID leave it out", command: spec) }
        return try ids.map { try index(ofCell: $0, in: plan, matrixPath: matrixPath) }
    }

    /// The plan index of cell `id`; a usage error naming the closest id when there is none.
    static func index(ofCell id: String, in plan: Plan, matrixPath: String) throws -> Int {
        guard let index = plan.cells.firstIndex(where: { $0.id == id }) else {
            let hint = DidYouMean.suggestion(for: id, among: plan.cells.map(\.id)).map { " (did you mean \($0)?)" } ?? ""
            throw UsageError("--cell \(id): no such cell in this matrix\(hint); `nestci plan \(matrixPath)` lists them", command: spec)
        }
        return index
    }

    /// The cell `--cell ID` or `--index N` names (exactly one of them).
    static func cellIndex(_ plan: Plan, arguments: ParsedArguments, matrixPath: String) throws -> Int {
        switch (arguments.value("cell"), try arguments.int("index", in: 0...1_000_000, command: spec)) {
        case (let id?, nil):
            if arguments.value("backend") != nil { throw UsageError("--backend counts --index N; with --cell ID leave it out", command: spec) }
            return try index(ofCell: id, in: plan, matrixPath: matrixPath)
        case (nil, let index?):
            var indices = Array(plan.cells.indices)
            var of = ""
            if let name = arguments.value("backend") {
                guard let backend = Backend(rawValue: name) else {
                    throw UsageError("--backend \(name): not a backend (\(Backend.allCases.map(\.rawValue).joined(separator: ", ")))", command: spec)
                }
                indices = indices.filter { plan.cells[$0].backend == backend }
                of = " of backend \(name)"
            }
            guard index < indices.count else {
                throw UsageError("--index \(index): the plan of \(matrixPath) has \(indices.count) cells\(of) (0 to \(indices.count - 1))", command: spec)
            }
            return indices[index]
        default:
            throw UsageError("give exactly one of --cell ID and --index N", command: spec)
        }
    }
}

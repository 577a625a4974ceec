import Foundation
import Hypervisor
import Matrix

/// `nestci ingest BUNDLE… [--matrix FILE] [--run-id ID] [--finish]`: folds the bundles of
/// `nestci cell run` into the store, as the run's one writer.
enum IngestCommand {
    static let spec = CommandSpec(
        name: "ingest", summary: "fold cell bundles (from `nestci cell run`) into the store; --finish ends their run",
        discussion: """
            Checks each bundle (its run, matrix and nestci version, and the size and SHA-256 of
            every file), copies it into STORE/runs/<run>/<cell>/ and indexes it as a local run's
            cell. A bundle ingested before is ignored; a newer bundle of the same cell (a retried
            task) replaces it. A bad bundle is refused and the others still go in (exit 65).
            The run: --run-id, else the bundles' own. A run not yet in the store is begun when
            --matrix FILE (the matrix the cells ran) is given. --finish then ends it: findings
            against the previous run of the matrix, results.json, the dashboard; the exit status
            is then the run's (0, 1, or 75 when the only failures are INFRA).
            --revisions FILE (from `nestci plan --pin`, as the cells were given) records the commits
            the run pinned when it is begun here: a later bundle whose builds are of other commits
            (a cell that resolved a branch after it moved) is refused.
            An executor begins a run with `nestci ingest --matrix FILE --run-id ID`, ingests bundles
            as its tasks end, and finishes with `nestci ingest --run-id ID --finish`.
            """,
        arguments: [.init("BUNDLE", optional: true, variadic: true, help: "bundle folders (OUT/<cell id> of `nestci cell run`)")],
        options: [
            CommonOptions.store,
            .init("run-id", value: "ID", help: "the run the bundles belong to (default: the bundles' own)"),
            .init("matrix", value: "FILE", help: "the matrix the cells ran: begins the run when the store does not have it yet"),
            .init("finish", help: "end the run after ingesting: findings, results.json, dashboard"),
            .init("trigger", value: "TEXT", help: "why the run happened, when it is begun here (default: bundles)"),
            CommonOptions.revisions,
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let storePath = CommonOptions.storePath(arguments)
        let ingester = BundleIngester(store: try ArtifactStore(root: storePath))
        var refused = 0
        var manifests: [(path: String, manifest: CellBundle)] = []
        for path in arguments.positionals {
            let path = URL(fileURLWithPath: path).standardizedFileURL.path
            do {
                manifests.append((path, try BundleIngester.manifest(of: path).manifest))
            } catch let error as BundleError {
                console.error("nestci: refused: \(error.message)")
                refused += 1
            }
        }
        let runID = try runID(arguments, manifests: manifests.map(\.manifest))
        let run = try await bundleRun(runID, ingester: ingester, arguments: arguments)
        var recorded = 0
        var duplicates = 0
        for (path, _) in manifests {
            do {
                switch try await ingester.ingest(path, into: run) {
                case .recorded(let result):
                    recorded += 1
                    console.print("  \(result.cellID): \(result.outcome.rawValue)  \(result.reason)")
                case .duplicate(let cellID):
                    duplicates += 1
                    console.print("  \(cellID): ingested before, ignored")
                }
            } catch let error as BundleError {
                console.error("nestci: refused: \(error.message)")
                refused += 1
            }
        }
        console.print("run \(run.runID): \(recorded) bundle\(recorded == 1 ? "" : "s") ingested, \(duplicates) duplicate\(duplicates == 1 ? "" : "s"), \(refused) refused")
        var status: ExitStatus = refused > 0 ? .dataError : .success
        if arguments.flag("finish") {
            let outcome = try await ingester.finish(run)
            console.print("")
            console.print(RunProgress.summary(outcome.results))
            for finding in outcome.findings { console.print(finding.text) }
            console.print("results: \(ingester.store.layout.run(run.runID))/\(RunLayout.resultsFile)")
            if status == .success { status = RunCommand.exitStatus(outcome.results) }
        }
        let dashboard = "\(storePath)/dashboard"
        do {
            try await DashboardPublisher(store: ingester.store, folder: dashboard).publish()
            console.print("dashboard: file://\(dashboard)/runs/\(run.runID)/index.html")
        } catch {
            console.error("nestci: the dashboard was not updated: \(error)")
        }
        return status
    }

    /// --run-id, else the one run the bundles name.
    static func runID(_ arguments: ParsedArguments, manifests: [CellBundle]) throws -> String {
        if let runID = arguments.value("run-id") { return runID }
        let named = Set(manifests.map(\.runID))
        guard named.count == 1, let only = named.first else {
            if named.isEmpty { throw UsageError("no bundle to take the run from: give --run-id ID (and BUNDLE folders)", command: spec) }
            throw UsageError("the bundles are of \(named.count) runs (\(named.sorted().joined(separator: ", "))): ingest each run's bundles with its --run-id", command: spec)
        }
        return only
    }

    /// The run in the store, begun from --matrix when it is not there yet.
    static func bundleRun(_ runID: String, ingester: BundleIngester, arguments: ParsedArguments) async throws -> BundleRun {
        guard StoreFiles.isSafeComponent(runID) else {
            throw UsageError("run id \(runID): use letters, digits, '.', '_' and '-', not starting with '.'", command: spec)
        }
        let pins = arguments.value("revisions") == nil ? nil : try CommonOptions.pinnedRevisions(arguments, spec: spec)
        var run: BundleRun
        if let matrixPath = arguments.value("matrix") {
            let plan = try MatrixFile.load(path: matrixPath).plan()
            run = try await ingester.begin(
                runID: runID, plan: plan, matrixPath: URL(fileURLWithPath: matrixPath).standardizedFileURL.path,
                matrixDigest: try CellBundle.matrixDigest(path: matrixPath), trigger: arguments.value("trigger") ?? "bundles", revisions: pins)
        } else if let existing = try await ingester.run(runID) {
            run = existing
        } else {
            throw UserError(
                "run \(runID) is not in \(ingester.store.root): pass --matrix FILE (the matrix its cells ran) to begin it", status: .usage)
        }
        guard let pins else { return run }
        if let recorded = run.revisions, Set(recorded) != Set(pins) {
            throw UserError(
                "--revisions \(arguments.value("revisions") ?? ""): run \(runID) was begun with other pins (\(recorded.map { "\($0.revision) \($0.shortCommit)" }.joined(separator: ", "))); pass the file it was begun with, or a new --run-id",
                status: .dataError)
        }
        // A run begun without pins: this ingest still checks its bundles against these.
        run.revisions = pins
        return run
    }
}

import Foundation
import Hypervisor
import Matrix

/// What a run made of bundles is: kept as `runs/<run>/bundle-run.json` when it begins, so
/// every later ingest (another process, another day) checks bundles against the same
/// run id, matrix and nestci version.
public struct BundleRun: Sendable, Codable, Equatable {
    public static let file = "bundle-run.json"

    public var runID: String
    public var matrix: String
    public var matrixDigest: String
    public var nestciVersion: String
    /// The plan's cell ids, in plan order (`--index N` is `cells[N]`).
    public var cells: [String]
    /// The commits the run pinned its revisions to (a Slurm run, at submission); nil when
    /// it pinned none. A bundle whose builds are of other commits is refused.
    public var revisions: [ResolvedRevision]?
}

/// Folds cell bundles into a store: the one writer of a run whose cells ran elsewhere
/// (Slurm tasks, Kubernetes pods, GitHub Actions jobs).
///
///     let ingester = BundleIngester(store: store)
///     let run = try await ingester.begin(runID: id, plan: plan, matrixPath: path, matrixDigest: digest)
///     // as each task ends:
///     try await ingester.ingest(bundleFolder, into: run)   // .recorded or .duplicate
///     let outcome = try await ingester.finish(run)          // findings, results.json
///
/// A bundle is refused (``BundleError``) unless it is of this run, matrix and nestci
/// version, names only plain files inside itself, and every file has the manifest's size
/// and SHA-256. Its files are copied into `runs/<run>/<cell>/` through a hidden staging
/// folder renamed into place, then indexed as a local run's cell is. The same bundle again
/// is ignored; a newer bundle of the same cell (a retried task) replaces the cell.
public struct BundleIngester: Sendable {
    public let store: ArtifactStore
    /// Largest file a bundle may hold (serial logs are capped at 64 MiB by default).
    public var maxFileBytes = 1 << 30
    /// Largest bundle.
    public var maxBundleBytes = 4 << 30
    public var maxFiles = 1000

    public init(store: ArtifactStore) { self.store = store }

    /// The outcome of ingesting one bundle.
    public enum Ingested: Sendable, Equatable {
        case recorded(CellResult)
        /// The same bundle was ingested before: nothing changed.
        case duplicate(cellID: String)
    }

    /// The bundle run `runID` of this store, or nil when the store has no such run.
    ///
    /// - Throws: ``BundleError`` `.mismatch` for a run that was not begun for bundles.
    public func run(_ runID: String) async throws -> BundleRun? {
        try ArtifactStore.checkID(runID, what: "run id")
        guard try await store.run(runID) != nil else { return nil }
        let path = "\(store.layout.run(runID))/\(BundleRun.file)"
        guard let data = try? BundleFiles.read(path, limit: 16 << 20, what: "run \(runID)'s \(BundleRun.file)"),
            let run = try? BuildCache.decoder.decode(BundleRun.self, from: data)
        else {
            throw BundleError(.mismatch, "run \(runID) is in \(store.root) but is not a run of bundles (it ran locally); ingest into a new run: pass another --run-id")
        }
        return run
    }

    /// Begins the run the bundles of `plan` will belong to, or returns it when it exists
    /// with the same matrix and nestci version (so an executor may call this again after
    /// a restart).
    public func begin(
        runID: String, plan: Plan, matrixPath: String, matrixDigest: String, trigger: String = "bundles", revisions: [ResolvedRevision]? = nil
    ) async throws -> BundleRun {
        let wanted = BundleRun(
            runID: runID, matrix: plan.matrix, matrixDigest: matrixDigest, nestciVersion: NestCI.version, cells: plan.cells.map(\.id), revisions: revisions)
        if let existing = try await run(runID) {
            try Self.check(existing, matches: wanted, what: "run \(runID) in \(store.root)")
            return existing
        }
        // The identity before the row: a run row always has it.
        try AtomicFile.writeJSON(wanted, to: "\(store.layout.run(runID))/\(BundleRun.file)")
        let host = await HostProbe.fingerprint()
        try await store.beginRun(
            id: runID, matrix: plan.matrix, matrixPath: matrixPath, trigger: trigger,
            hostJSON: String(decoding: try JSONEncoder().encode(host), as: UTF8.self), cellIDs: wanted.cells)
        return wanted
    }

    /// Reads and checks a bundle's manifest (nothing is copied).
    public static func manifest(of bundle: String) throws -> (manifest: CellBundle, data: Data) {
        guard StoreFiles.isDirectory(bundle) else {
            throw BundleError(.notABundle, "\(bundle) is not a bundle folder (`nestci cell run --out DIR` makes DIR/<cell id>/)")
        }
        let path = "\(bundle)/\(CellBundle.manifestFile)"
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw BundleError(.notABundle, "\(bundle) is not a bundle: \(CellBundle.manifestFile) is missing (`nestci cell run --out DIR` makes DIR/<cell id>/)")
        }
        let data = try BundleFiles.read(path, limit: 4 << 20, what: "bundle \(bundle): \(CellBundle.manifestFile)")
        let manifest: CellBundle
        do {
            manifest = try BuildCache.decoder.decode(CellBundle.self, from: data)
        } catch {
            throw BundleError(.notABundle, "bundle \(bundle): \(CellBundle.manifestFile) is not a bundle manifest (\(StoreDamage.describe(error))); make the bundle again with `nestci cell run`")
        }
        guard manifest.format == CellBundle.currentFormat else {
            throw BundleError(.notABundle, "bundle \(bundle): manifest format \(manifest.format), this nestci reads format \(CellBundle.currentFormat); ingest with the nestci that made it")
        }
        return (manifest, data)
    }

    /// Ingests the bundle folder `bundle` into `run`.
    @discardableResult
    public func ingest(_ bundle: String, into run: BundleRun) async throws -> Ingested {
        let (manifest, manifestData) = try Self.manifest(of: bundle)
        try check(manifest, bundle: bundle, run: run)
        let layout = store.layout
        let folder = layout.cell(run.runID, manifest.cellID)
        if let earlier = try? BundleFiles.read("\(folder)/\(CellBundle.ingestedManifest)", limit: 4 << 20, what: "ingested manifest"),
            earlier == manifestData, StoreFiles.isRegularFile("\(folder)/\(RunLayout.resultFile)")
        {
            return .duplicate(cellID: manifest.cellID)
        }
        let staging = "\(layout.run(run.runID))/.ingest-\(manifest.cellID)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        for file in manifest.files {
            try BundleFiles.copyVerified("\(bundle)/\(file.name)", to: "\(staging)/\(file.name)", expected: file, bundle: bundle)
        }
        try AtomicFile.write(manifestData, to: "\(staging)/\(CellBundle.ingestedManifest)")
        let result = try decode(CellResult.self, "\(staging)/\(RunLayout.resultFile)", bundle: bundle)
        guard result.cellID == manifest.cellID, result.outcome == manifest.outcome else {
            throw BundleError(.checksum, "bundle \(bundle): result.json is of cell \(result.cellID) (\(result.outcome.rawValue)) but the manifest says \(manifest.cellID) (\(manifest.outcome.rawValue)); refused")
        }
        let builds = manifest.files.contains { $0.name == CellBundle.buildsFile }
            ? try decode([BuildRecord].self, "\(staging)/\(CellBundle.buildsFile)", bundle: bundle) : []
        try Self.check(builds, pinnedBy: run, bundle: bundle)
        // This process writes the run now (a run begun by another ingest reads as
        // interrupted once that process is gone; a finished one is reopened).
        _ = try await store.resumeRun(run.runID)
        try CellBundleRunner.publish(staging, as: folder)
        for record in builds { try? await store.recordBuild(record) }
        try await store.recordCell(runID: run.runID, result: result)
        return .recorded(result)
    }

    /// Finishes the run: findings against the previous run of the matrix, results.json,
    /// status finished. Cells never ingested are simply absent (as a local run's cancelled
    /// cells are).
    public func finish(_ run: BundleRun) async throws -> RunOutcome {
        guard let summary = try await store.run(run.runID) else {
            throw BundleError(.noRun, "run \(run.runID) is not in \(store.root)")
        }
        let cells = try await store.cells(runID: run.runID)
        let results = RunResults(runID: run.runID, matrix: run.matrix, started: summary.started, finished: Date(), cells: cells)
        let findings = try await store.finishRun(id: run.runID, results: results)
        return RunOutcome(results: results, findings: findings)
    }

    // MARK: - Checks

    /// The manifest's run, matrix and version against the run's, and its file names.
    func check(_ manifest: CellBundle, bundle: String, run: BundleRun) throws {
        let what = "bundle \(bundle)"
        guard manifest.runID == run.runID else {
            throw BundleError(
                .mismatch,
                "\(what): runID is \(manifest.runID) but this ingest is into run \(run.runID); ingest it with --run-id \(manifest.runID), or run the cell again with --run-id \(run.runID)")
        }
        guard manifest.matrix == run.matrix, manifest.matrixDigest == run.matrixDigest else {
            throw BundleError(
                .mismatch,
                "\(what): matrix is \(manifest.matrix) (sha256 \(manifest.matrixDigest.prefix(12))) but run \(run.runID) is of matrix \(run.matrix) (sha256 \(run.matrixDigest.prefix(12))); run the cell again with the run's matrix file")
        }
        guard manifest.nestciVersion == run.nestciVersion else {
            throw BundleError(
                .mismatch,
                "\(what): nestciVersion is \(manifest.nestciVersion) but run \(run.runID) is of nestci \(run.nestciVersion); run the cell again with nestci \(run.nestciVersion)")
        }
        guard StoreFiles.isSafeComponent(manifest.cellID), run.cells.contains(manifest.cellID) else {
            throw BundleError(.mismatch, "\(what): cellID \"\(manifest.cellID)\" is not a cell of matrix \(run.matrix); `nestci plan` lists them")
        }
        guard manifest.files.count <= maxFiles else {
            throw BundleError(.unsafe, "\(what): its manifest lists \(manifest.files.count) files (at most \(maxFiles)); refused")
        }
        var names: Set<String> = []
        var total = 0
        for file in manifest.files {
            // One plain component: no "/", no "..", no hidden names, nothing the store writes itself.
            guard StoreFiles.isSafeComponent(file.name), file.name != CellBundle.manifestFile, file.name != CellBundle.ingestedManifest,
                names.insert(file.name).inserted
            else {
                throw BundleError(.unsafe, "\(what): its manifest names the file \"\(file.name)\", which is not a plain file name in the bundle (or is listed twice); refused")
            }
            guard file.bytes >= 0, file.bytes <= maxFileBytes else {
                throw BundleError(.unsafe, "\(what): \(file.name) is \(file.bytes) bytes (at most \(maxFileBytes)); refused")
            }
            total += file.bytes
        }
        guard total <= maxBundleBytes else {
            throw BundleError(.unsafe, "\(what): \(total) bytes in all (at most \(maxBundleBytes)); refused")
        }
        guard names.contains(RunLayout.resultFile) else {
            throw BundleError(.notABundle, "\(what): no \(RunLayout.resultFile) in its manifest; make the bundle again with `nestci cell run`")
        }
    }

    /// Every build of the bundle is of the commit the run pinned its revision to: a task
    /// that built another commit (its branch moved, it was not given the pins) is refused.
    static func check(_ builds: [BuildRecord], pinnedBy run: BundleRun, bundle: String) throws {
        guard let revisions = run.revisions else { return }
        let pins = Dictionary(revisions.map { (RevisionPins.Key($0), $0.commit) }, uniquingKeysWith: { first, _ in first })
        for build in builds {
            guard let pinned = pins[RevisionPins.Key(repository: build.repository, revision: build.revision)], pinned != build.commit else { continue }
            throw BundleError(
                .mismatch,
                "bundle \(bundle): build \(build.specKey) is of commit \(build.commit.prefix(12)) but run \(run.runID) pinned \(build.repository) \(build.revision) to \(pinned.prefix(12)); run the cell again with --revisions (the run's spool revisions.json)")
        }
    }

    static func check(_ existing: BundleRun, matches wanted: BundleRun, what: String) throws {
        guard existing.matrix == wanted.matrix, existing.matrixDigest == wanted.matrixDigest else {
            throw BundleError(
                .mismatch,
                "\(what) is of matrix \(existing.matrix) (sha256 \(existing.matrixDigest.prefix(12))), not \(wanted.matrix) (sha256 \(wanted.matrixDigest.prefix(12))); pass that matrix file, or a new --run-id")
        }
        guard existing.nestciVersion == wanted.nestciVersion else {
            throw BundleError(.mismatch, "\(what) was begun by nestci \(existing.nestciVersion), this is \(wanted.nestciVersion); ingest with nestci \(existing.nestciVersion), or pass a new --run-id")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ path: String, bundle: String) throws -> T {
        let name = (path as NSString).lastPathComponent
        let data = try BundleFiles.read(path, limit: 64 << 20, what: "bundle \(bundle): \(name)")
        do {
            return try BuildCache.decoder.decode(type, from: data)
        } catch {
            throw BundleError(.notABundle, "bundle \(bundle): \(name) does not decode (\(StoreDamage.describe(error))); make the bundle again with `nestci cell run`")
        }
    }
}

import Foundation
import Hypervisor
import Matrix

/// Runs one cell of a plan into a ``CellBundle``, through the same ``CellRunner`` as a
/// local run (builds, disks, boot with retries, verdict, evidence), touching no SQLite.
///
/// Builds and disks go to a build cache folder that may be shared by every task of a run
/// (``BuilderOptions/sharedCache``); the bundle goes to `out/<cell id>/`.
public struct CellBundleRunner: Sendable {
    public var options: RunOptions
    /// The build cache (mirrors, builds, disks).
    public var cache: String
    /// Where bundles are written: `out/<cell id>/`.
    public var out: String
    public var runID: String
    public var onEvent: @Sendable (RunEvent) -> Void

    public init(options: RunOptions, cache: String, out: String, runID: String, onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.options = options
        self.cache = cache
        self.out = out
        self.runID = runID
        self.onEvent = onEvent
    }

    /// Runs `plan.cells[index]` and returns its bundle's manifest and folder.
    ///
    /// - Parameter matrixDigest: ``CellBundle/matrixDigest(path:)`` of the plan's file.
    /// - Throws: `CancellationError` when torn down (no bundle is left); ``RunError`` `.io`
    ///   when the bundle cannot be written.
    public func run(_ plan: Plan, index: Int, matrixDigest: String) async throws -> (bundle: CellBundle, folder: String) {
        let cell = plan.cells[index]
        try ArtifactStore.checkID(runID, what: "run id")
        try ArtifactStore.checkID(cell.id, what: "cell id")
        let host = await Self.fingerprint(cache: cache, runID: runID)
        var builderOptions = options.builder
        builderOptions.runID = runID
        builderOptions.sharedCache = true
        let builder = Builder(store: URL(fileURLWithPath: cache), options: builderOptions)
        let runner = CellRunner(
            options: options, layout: RunLayout(store: cache), runID: runID, host: host, builder: builder,
            disks: GrubDiskBuilder(store: cache), slots: Slots(1), expected: [:], store: nil, stopFlag: Mutex(false),
            onEvent: onEvent)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let staging = "\(out)/.tmp-\(cell.id)-\(getpid())-\(UUID().uuidString.prefix(8))"
        var published = false
        defer { if !published { try? FileManager.default.removeItem(atPath: staging) } }
        let (result, builds) = try await withTaskCancellationHandler {
            try await runner.runFiles(cell, folder: staging)
        } onCancel: {
            Task { await builder.cancelAll() }
        }
        try AtomicFile.writeJSON(result, to: "\(staging)/\(RunLayout.resultFile)")
        try AtomicFile.writeJSON(builds, to: "\(staging)/\(CellBundle.buildsFile)")
        try AtomicFile.writeJSON(host, to: "\(staging)/\(CellBundle.hostFile)")
        // The attempts' folders stay out: the last attempt's logs are linked in already,
        // and a bundle is flat.
        for name in try FileManager.default.contentsOfDirectory(atPath: staging) where !StoreFiles.isRegularFile("\(staging)/\(name)") {
            try FileManager.default.removeItem(atPath: "\(staging)/\(name)")
        }
        let files = try StoreFiles.regularFiles(in: staging).map { name in
            let (bytes, sha256) = try StoreFiles.digest("\(staging)/\(name)")
            return CellBundle.File(name: name, bytes: bytes, sha256: sha256)
        }
        let bundle = CellBundle(
            format: CellBundle.currentFormat, runID: runID, matrix: plan.matrix, matrixDigest: matrixDigest,
            nestciVersion: NestCI.version, cellID: cell.id, index: index, outcome: result.outcome, host: ArtifactStore.hostName,
            created: Date(), files: files)
        try AtomicFile.writeJSON(bundle, to: "\(staging)/\(CellBundle.manifestFile)")
        let folder = "\(out)/\(cell.id)"
        try Self.publish(staging, as: folder)
        published = true
        return (bundle, folder)
    }

    /// The host's fingerprint, probed once per host and run as a local run probes once:
    /// the run's first task on this host probes (emulator and GRUB versions, over a second
    /// of every task's start otherwise) and leaves it in the cache as
    /// `hosts/<run id>/<host>.json` for the run's other tasks on this host.
    static func fingerprint(cache: String, runID: String) async -> HostFingerprint {
        let host = ArtifactStore.hostName
        guard StoreFiles.isSafeComponent(host) else { return await HostProbe.fingerprint() }
        let path = "\(cache)/hosts/\(runID)/\(host).json"
        if let data = FileManager.default.contents(atPath: path), let known = try? BuildCache.decoder.decode(HostFingerprint.self, from: data) {
            return known
        }
        let (probed, interrupted) = await HostProbe.probeChecked()
        // Only a shortcut: a task that finds none probes itself. An interrupted probe is not
        // kept: its "not found" would stand for every later task of the run on this host.
        if !interrupted { try? AtomicFile.writeJSON(probed, to: path) }
        return probed
    }

    /// Moves the finished folder `staging` to `folder` by rename. A bundle already there (an
    /// earlier attempt of a retried task) is replaced: renamed aside first, removed after.
    static func publish(_ staging: String, as folder: String) throws {
        if rename(staging, folder) == 0 { return }
        guard errno == EEXIST || errno == ENOTEMPTY else {
            throw RunError(.io, "cannot move the bundle to \(folder): \(String(cString: strerror(errno))) (is --out writable?)")
        }
        let parent = (folder as NSString).deletingLastPathComponent
        let aside = "\(parent)/.old-\((folder as NSString).lastPathComponent)-\(getpid())-\(UUID().uuidString.prefix(8))"
        guard rename(folder, aside) == 0, rename(staging, folder) == 0 else {
            throw RunError(.io, "cannot replace the bundle at \(folder): \(String(cString: strerror(errno))) (is --out writable?)")
        }
        try? FileManager.default.removeItem(atPath: aside)
    }
}

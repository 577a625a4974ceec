import Foundation
import Hypervisor
import Matrix

/// One configuration of a cell run ad hoc, as an investigation step: the result of
/// ``AdHocRunner/run(_:variants:boots:in:label:stopOnPass:)``.
public struct AdHocStep: Sendable, Codable, Equatable {
    /// The investigated cell's id (the nightly's).
    public var cellID: String
    /// The label the caller gave (a short commit id, a flag set).
    public var label: String
    /// Variants per level index.
    public var variants: [Int: BuildVariant]
    /// The investigation run the boots are recorded in.
    public var runID: String
    /// One result per boot, in order; each is a cell of ``runID`` (``CellResult/cellID``
    /// is the step's cell id, `<cell>.<label>` and `<cell>.<label>.b<n>` for boot n ≥ 2).
    public var results: [CellResult]
    /// Build commands started for this step (0 when every level came from the cache).
    public var builds: Int
    /// Levels answered from the build cache.
    public var cachedBuilds: Int
    /// Boots this call performed (recorded boots reused are not counted).
    public var boots: Int
    /// Boots found already recorded (a resumed investigation) and reused.
    public var reusedBoots: Int
}

/// Runs one configuration of a cell ad hoc: builds it (the build cache and the cell's own
/// build path), boots it K times with the cell's exact boot plan, verdict rules and
/// emulator settings, and records each boot as an ordinary cell result of an
/// ``InvestigationRun``. A boot already recorded there with the same builds is reused,
/// never repeated (an investigation resumed after SIGKILL).
///
/// Shared by bisection (#12) and -O triage (#13). Make one per investigation.
public struct AdHocRunner: Sendable {
    public let options: RunOptions
    let store: ArtifactStore
    let host: HostFingerprint
    let builder: Builder
    let slots: Slots

    /// - Parameters:
    ///   - options: the run options (store, slots, INFRA retries, builder options);
    ///     `rerunFailed` and `failFast` are ignored (each boot is its own result).
    ///   - runID: the investigation run's id, named by cached BUILD-FAIL records.
    public init(options: RunOptions, store: ArtifactStore, runID: String? = nil) async {
        var options = options
        options.rerunFailed = 0
        options.failFast = false
        self.options = options
        self.store = store
        host = await HostProbe.fingerprint()
        var builderOptions = options.builder
        builderOptions.runID = runID
        builder = Builder(store: URL(fileURLWithPath: options.store), options: builderOptions)
        slots = Slots(options.slots)
    }

    /// The host fingerprint as JSON, for ``InvestigationRun/open(store:kind:id:matrix:matrixPath:hostJSON:)``.
    public var hostJSON: String {
        String(decoding: (try? JSONEncoder().encode(host)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// The cell as the step builds it: each level with its variant applied, the id
    /// `<cell>.<label>` (label made safe for a folder name).
    public static func stepCell(_ cell: Cell, variants: [Int: BuildVariant], label: String) -> Cell {
        var step = cell
        for (index, variant) in variants where step.levels.indices.contains(index) {
            step.levels[index].build = step.levels[index].build?.applying(variant)
        }
        step.id = "\(cell.id).\(safeLabel(label))"
        return step
    }

    /// `label` with every character a store folder name cannot hold replaced by `_`
    /// (at most 80 characters).
    static func safeLabel(_ label: String) -> String {
        let mapped = label.unicodeScalars.map { scalar -> Character in
            let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "_" || scalar == "-" || scalar == "."
            return ok ? Character(scalar) : "_"
        }
        let text = String(mapped.prefix(80))
        return text.isEmpty ? "step" : text
    }

    /// Builds and boots one configuration `boots` times (stopping at the first PASS when
    /// `stopOnPass`: one pass proves a commit good), recording each boot.
    ///
    /// - Throws: `CancellationError` when cancelled (no process is left); store errors.
    public func run(
        _ cell: Cell, variants: [Int: BuildVariant], boots: Int, in investigation: InvestigationRun, label: String,
        stopOnPass: Bool = true
    ) async throws -> AdHocStep {
        let step = Self.stepCell(cell, variants: variants, label: label)
        let keys = step.levels.compactMap { $0.build?.key }
        let context = CellRunner(
            options: options, layout: RunLayout(store: options.store), runID: investigation.runID, host: host, builder: builder,
            disks: GrubDiskBuilder(store: options.store), slots: slots, expected: [:], store: store, stopFlag: Mutex(false),
            onEvent: { _ in })
        let startedBuilds = await builder.buildsStarted
        let startedHits = await builder.cacheHits
        var results: [CellResult] = []
        var performed = 0
        var reused = 0
        for boot in 1...max(1, boots) {
            var attempt = step
            if boot > 1 { attempt.id += ".b\(boot)" }
            let result: CellResult
            if let recorded = try await store.cell(runID: investigation.runID, cellID: attempt.id), recorded.buildKeys == keys {
                result = recorded
                reused += 1
            } else {
                // Builds are cancelled with the task (their flights are not its children).
                result = try await withTaskCancellationHandler {
                    try await context.run(attempt)
                } onCancel: {
                    Task { await builder.cancelAll() }
                }
                performed += 1
            }
            results.append(result)
            if stopOnPass, result.outcome == .pass || result.outcome == .flaky { break }
            // A build that fails fails every boot the same way: one result says it.
            if result.outcome == .buildFail { break }
        }
        return AdHocStep(
            cellID: cell.id, label: label, variants: variants, runID: investigation.runID, results: results,
            builds: await builder.buildsStarted - startedBuilds, cachedBuilds: await builder.cacheHits - startedHits,
            boots: performed, reusedBoots: reused)
    }
}

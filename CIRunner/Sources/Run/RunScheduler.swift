import Foundation
import Hypervisor
import Matrix

/// Runs a plan as a dependency graph: every cell waits only for its own builds (one build
/// per key, shared through the Builder's single flight), then gets its disks, then waits
/// for a boot slot. A task group holds one child task per cell.
public struct RunScheduler: Sendable {
    public var options: RunOptions
    public var onEvent: @Sendable (RunEvent) -> Void

    public init(options: RunOptions, onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.options = options
        self.onEvent = onEvent
    }

    /// Runs every cell of `plan`, recording each into the store as it finishes, and ends
    /// with the findings. With `resume`, an interrupted run with that id is taken over:
    /// its recorded cells are kept and never run twice.
    public func run(_ plan: Plan, matrixPath: String, runID: String? = nil, resume: Bool = false) async throws -> RunOutcome {
        let layout = RunLayout(store: options.store)
        let store = try ArtifactStore(root: options.store)
        for stale in try await store.interruptedRuns() where stale.id != runID {
            try await store.markInterrupted(stale.id)
        }
        let host = await HostProbe.fingerprint()
        let runID = runID ?? ArtifactStore.newRunID()
        var started = Date()
        var done: [CellResult] = []
        if resume {
            done = try await store.resumeRun(runID)
            started = try await store.run(runID)?.started ?? started
        } else {
            let hostJSON = String(decoding: try JSONEncoder().encode(host), as: UTF8.self)
            try await store.beginRun(
                id: runID, matrix: plan.matrix, matrixPath: matrixPath, trigger: options.trigger, hostJSON: hostJSON,
                cellIDs: plan.cells.map(\.id), started: started)
        }
        var builderOptions = options.builder
        builderOptions.runID = runID
        let builder = Builder(store: URL(fileURLWithPath: options.store), options: builderOptions)
        let stopFlag = Mutex(false)
        let finished = Set(done.map(\.cellID))
        let todo = plan.cells.filter { !finished.contains($0.id) }
        onEvent(.started(runID: runID, cells: plan.cells.count, builds: plan.builds.count))
        for result in done { onEvent(.cellFinished(result)) }

        // Only backends that can run here: the others' cells are INFRA with the probe's reason.
        let backends = Set(plan.cells.map(\.backend).filter { host.availability(of: $0).available })
        let canaryFailures = await options.canary?.check(backends, store: options.store, folder: "\(layout.run(runID))/canary") ?? [:]
        let context = CellRunner(
            options: options, layout: layout, runID: runID, host: host, builder: builder, disks: GrubDiskBuilder(store: options.store),
            slots: Slots(options.slots), expected: try await Self.previousDurations(store, matrix: plan.matrix, before: runID), store: store,
            stopFlag: stopFlag, onEvent: onEvent, canaryFailures: canaryFailures)
        // Cancelling the run kills its builds at once (their flights are not the cells'
        // child tasks, so cancelling the cells alone would wait for make to finish).
        let results = try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: CellResult.self) { group in
                for cell in todo {
                    group.addTask { try await context.run(cell) }
                }
                var results = done
                for try await result in group {
                    results.append(result)
                    onEvent(.cellFinished(result))
                    if options.failFast, result.outcome.isFailure { stopFlag.withLock { $0 = true } }
                }
                return results
            }
        } onCancel: {
            Task { await builder.cancelAll() }
        }
        let order = Dictionary(uniqueKeysWithValues: plan.cells.enumerated().map { ($1.id, $0) })
        let run = RunResults(
            runID: runID, matrix: plan.matrix, started: started, finished: Date(),
            cells: results.filter { order[$0.cellID] != nil }.sorted { order[$0.cellID]! < order[$1.cellID]! })
        let performance = try await Self.performanceFindings(plan, results: run.cells, runID: runID, host: host, store: store, context: context)
        let findings = try await store.finishRun(
            id: runID, results: run, extraFindings: performance, knownIssues: plan.knownIssues, commitURLs: plan.commitURLs)
        return RunOutcome(results: run, findings: findings)
    }
}

extension RunScheduler {
    /// Boot seconds per cell in the latest earlier run of the same matrix, so the longest
    /// cells start first.
    static func previousDurations(_ store: ArtifactStore, matrix: String, before runID: String) async throws -> [String: Double] {
        guard let previous = try await store.previousRun(matrix: matrix, before: runID) else { return [:] }
        return Dictionary(try await store.cells(runID: previous.id).map { ($0.cellID, $0.bootSeconds) }, uniquingKeysWith: max)
    }
}

/// A finished run and what it found.
public struct RunOutcome: Sendable {
    public var results: RunResults
    public var findings: [Finding]
}

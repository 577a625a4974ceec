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

    /// Runs every cell of `plan` and returns the results (also written to the run folder).
    public func run(_ plan: Plan, runID: String = RunScheduler.newRunID()) async throws -> RunResults {
        let layout = RunLayout(store: options.store)
        try FileManager.default.createDirectory(atPath: layout.run(runID), withIntermediateDirectories: true)
        let started = Date()
        let host = await HostProbe.fingerprint()
        let builder = Builder(store: URL(fileURLWithPath: options.store), options: options.builder)
        let disks = GrubDiskBuilder(store: options.store)
        let slots = Slots(options.slots)
        let stopFlag = Mutex(false)
        try AtomicFile.writeJSON(RunInfo(runID: runID, matrix: plan.matrix, trigger: options.trigger, started: started, host: host, cells: plan.cells.map(\.id)), to: "\(layout.run(runID))/\(RunLayout.runFile)")
        onEvent(.started(runID: runID, cells: plan.cells.count, builds: plan.builds.count))

        let context = CellRunner(
            options: options, layout: layout, runID: runID, host: host, builder: builder, disks: disks, slots: slots,
            expected: DurationHistory.load(layout: layout, matrix: plan.matrix), stopFlag: stopFlag, onEvent: onEvent)
        let results = await withTaskGroup(of: CellResult.self) { group in
            for cell in plan.cells {
                group.addTask { await context.run(cell) }
            }
            var results: [CellResult] = []
            for await result in group {
                results.append(result)
                onEvent(.cellFinished(result))
                if options.failFast, result.outcome.isFailure { stopFlag.withLock { $0 = true } }
            }
            return results
        }
        let order = Dictionary(uniqueKeysWithValues: plan.cells.enumerated().map { ($1.id, $0) })
        let run = RunResults(runID: runID, matrix: plan.matrix, started: started, finished: Date(), cells: results.sorted { order[$0.cellID]! < order[$1.cellID]! })
        try AtomicFile.writeJSON(run, to: "\(layout.run(runID))/\(RunLayout.resultsFile)")
        return run
    }

    /// `20261125-023001-ab12`: sortable, readable, unique enough for one store.
    public static func newRunID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: now) + "-" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
    }
}

/// `run.json`: what a run was, for the store and the dashboard.
public struct RunInfo: Sendable, Codable {
    public var runID: String
    public var matrix: String
    public var trigger: String
    public var started: Date
    public var host: HostFingerprint
    public var cells: [String]
}

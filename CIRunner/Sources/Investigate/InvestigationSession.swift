import Foundation
import Hypervisor
import Matrix

/// The bookkeeping a record of an investigation (a bisection, a triage) shares, that
/// ``InvestigationSession`` keeps up to date.
protocol InvestigationRecord: Sendable {
    var id: String { get }
    var matrix: String { get }
    /// The store run holding the steps' boots.
    var investigationRunID: String { get set }
    /// True while the investigation goes on (``finished`` stays unset).
    var isRunning: Bool { get }
    var finished: Date? { get set }
    /// Wall-clock seconds spent over every session.
    var spentSeconds: Double { get set }
    /// Adds a step's builds and boots to the record's costs.
    mutating func count(_ step: AdHocStep)
}

/// One process's share of an investigation, the part bisection (``Bisector``) and -O
/// triage (``Triage``) share: the store and options, the record and its costs, the
/// investigation run its steps are recorded in, the ad-hoc runner, and the time spent
/// (added to what earlier sessions spent, so a resumed investigation counts all of it).
struct InvestigationSession<Record: InvestigationRecord>: Sendable {
    /// `bisect` or `triage`: the investigation run's trigger prefix.
    let kind: String
    let store: ArtifactStore
    let options: RunOptions
    let matrixPath: String
    let progress: @Sendable (String) -> Void
    var record: Record
    var investigation: InvestigationRun?
    var runner: AdHocRunner?
    let began = Date()
    let baseSeconds: Double

    init(kind: String, store: ArtifactStore, options: RunOptions, matrixPath: String, progress: @escaping @Sendable (String) -> Void, record: Record) {
        self.kind = kind
        self.store = store
        self.options = options
        self.matrixPath = matrixPath
        self.progress = progress
        self.record = record
        baseSeconds = record.spentSeconds
    }

    /// Makes the runner and opens (or takes over) the investigation run.
    mutating func open() async throws {
        let runner = await AdHocRunner(options: options, store: store)
        self.runner = runner
        let run = try await InvestigationRun.open(
            store: store, kind: kind, id: record.id, matrix: record.matrix, matrixPath: matrixPath, hostJSON: runner.hostJSON)
        investigation = run
        record.investigationRunID = run.runID
    }

    /// Sets the time spent (and the end, when no longer running) before the record is saved.
    mutating func close() {
        record.spentSeconds = baseSeconds + Date().timeIntervalSince(began)
        if !record.isRunning { record.finished = Date() }
    }

    /// Builds and boots one configuration of `cell` in the investigation run, its costs counted.
    mutating func boot(_ cell: Cell, variants: [Int: BuildVariant], boots: Int, label: String, stopOnPass: Bool) async throws -> AdHocStep {
        let step = try await runner!.run(cell, variants: variants, boots: boots, in: investigation!, label: label, stopOnPass: stopOnPass)
        record.count(step)
        return step
    }

    // MARK: Setup

    /// `cell` of the matrix at `matrixPath`, or nil when the matrix no longer has it.
    static func cell(_ cellID: String, matrixPath: String) throws -> Cell? {
        try MatrixFile.load(path: matrixPath).plan().cell(cellID)
    }

    /// Boots a step: `--runs K` when given, else ``FlakeRule`` over the cell's history up to `runID`.
    static func flake(runs: Int?, history: [CellHistoryEntry], runID: String, signature: FailureSignature) -> FlakeRule.Decision {
        if let runs {
            return FlakeRule.Decision(boots: max(1, runs), flakeRate: 0, flakes: 0, runs: 0, reason: "--runs \(runs)")
        }
        return FlakeRule.boots(history: history.filter { $0.runID <= runID }.map(\.result), signature: signature)
    }
}

/// A bisect's or a triage's session: the shared part is its ``core``, read through these.
protocol InvestigationSessionHolder {
    associatedtype Record: InvestigationRecord
    var core: InvestigationSession<Record> { get set }
}

extension InvestigationSessionHolder {
    var record: Record {
        get { core.record }
        set { core.record = newValue }
    }
    var store: ArtifactStore { core.store }
    var options: RunOptions { core.options }
    var progress: @Sendable (String) -> Void { core.progress }
    var investigation: InvestigationRun? { core.investigation }

    mutating func close() { core.close() }
}

extension BisectRecord: InvestigationRecord {
    var isRunning: Bool { status == .running }
    var spentSeconds: Double {
        get { minutes * 60 }
        set { minutes = newValue / 60 }
    }
    mutating func count(_ step: AdHocStep) {
        builds += step.builds
        cachedBuilds += step.cachedBuilds
        boots += step.boots
    }
}

extension TriageRecord: InvestigationRecord {
    var isRunning: Bool { status == .running }
    var spentSeconds: Double {
        get { seconds }
        set { seconds = newValue }
    }
    mutating func count(_ step: AdHocStep) {
        builds += step.builds
        cachedBuilds += step.cachedBuilds
        boots += step.boots
        reusedBoots += step.reusedBoots
    }
}

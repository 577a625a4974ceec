import Foundation
import Hypervisor
import Matrix

/// What to triage: a cell of an -O-only finding.
public struct TriageRequest: Sendable, Codable, Hashable {
    public var runID: String
    /// A cell of the finding: the failing one, or the passing one (the lowest failing level is then taken).
    public var cellID: String
    /// The matrix file, when not the run's own path.
    public var matrixPath: String?
    /// Boots per step (default: ``FlakeRule``).
    public var runs: Int?
    /// Builds the triage may start (cached ones do not count); it stops, failed, past them.
    public var maxBuilds: Int

    public init(runID: String, cellID: String, matrixPath: String? = nil, runs: Int? = nil, maxBuilds: Int = 60) {
        self.runID = runID
        self.cellID = cellID
        self.matrixPath = matrixPath
        self.runs = runs
        self.maxBuilds = maxBuilds
    }
}

/// Why a triage could not start or go on.
public struct TriageError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notFound, notOptOnly, notAFailure, noBuiltLevel, budget
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// -O triage (#13): which optimisation flags and which translation units an -O-only
/// failure needs. Step 1 delta-debugs over builds at `-Ob -fno-X …` (the flags -Ob enables
/// over -Oa, undefined-behaviour ones first); step 2 over the units, built at -Ob through
/// the ``CompilerWrapper`` with the rest at -Oa, then one step with every unit at -Oa
/// through the wrapper, which must pass for "passes otherwise". Every step is a build and K boots of the
/// cell with its exact boot plan and rules (``AdHocRunner``), judged by the failure's
/// signature (``StepClassifier``).
///
/// Resumable: a triage of the same cell takes over its record and investigation run;
/// recorded boots are reused and builds come from the cache, so nothing is repeated.
public enum Triage {
    /// Runs (or resumes) a triage and returns its record, saved after every step.
    ///
    /// - Parameter progress: one line per step, for a console or a log.
    /// - Throws: ``TriageError`` when the cell is no -O-only failure; `CancellationError`
    ///   when cancelled (the record is saved `cancelled`, and a later call resumes it).
    public static func run(
        _ request: TriageRequest, store: ArtifactStore, options: RunOptions, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> TriageRecord {
        let setup = try await Setup.make(request, store: store)
        var session = Session(setup: setup, store: store, options: options, progress: progress, maxBuilds: request.maxBuilds)
        do {
            try await session.run()
            session.record.status = .finished
        } catch where error is CancellationError || Task.isCancelled {
            session.record.status = .cancelled
            session.close()
            try? await store.saveTriage(session.record)  // Best effort: the cancel must not turn into a store error.
            throw CancellationError()
        } catch let error as TriageError where error.code == .budget {
            session.record.status = .failed
            session.record.notes.append(error.message)
        }
        session.close()
        try await store.saveTriage(session.record)
        if let investigation = session.investigation { try await investigation.finish(store: store) }
        return session.record
    }

    /// What a triage knows before its first step.
    struct Setup {
        var cell: Cell
        var levels: [Int]
        var pinned: [Int: String]
        var record: TriageRecord
        var matrixPath: String
        /// The finding's other failing cells (other -O levels), checked at the end.
        var others: [String]

        static func make(_ request: TriageRequest, store: ArtifactStore) async throws -> Setup {
            guard let summary = try await store.run(request.runID) else {
                throw TriageError(.notFound, "no run \(request.runID) in \(store.root); `nestci runs` lists them")
            }
            let findings = try await store.findings(runID: request.runID)
            guard let finding = findings.first(where: { $0.kind == .optOnly && $0.verdicts.contains { $0.cellID == request.cellID } }) else {
                throw TriageError(
                    .notOptOnly,
                    "cell \(request.cellID) of run \(request.runID) is in no -O-only finding (passes at one -O, fails at another, same revision); `nestci report \(request.runID)` lists the findings")
            }
            var passing: [CellResult] = []
            var failing: [CellResult] = []
            for verdict in finding.verdicts {
                guard let result = try await store.cell(runID: verdict.runID, cellID: verdict.cellID) else { continue }
                if result.outcome == .pass { passing.append(result) } else if result.outcome == .fail || result.outcome == .timeout { failing.append(result) }
            }
            func opt(_ result: CellResult) -> OptLevel? { result.values["opt"].flatMap(OptLevel.init(rawValue:)) }
            let target = failing.first { $0.cellID == request.cellID } ?? failing.min { (opt($0) ?? .Og) < (opt($1) ?? .Og) }
            guard let bad = target, let high = opt(bad) else {
                throw TriageError(.notAFailure, "the -O-only finding of \(request.cellID) has no FAIL or TIMEOUT cell to triage")
            }
            // -Oa: O0 when it passed (the plainest build), else the lowest passing level.
            guard let good = passing.min(by: { (opt($0) ?? .Og) < (opt($1) ?? .Og) }), let low = opt(good) else {
                throw TriageError(.notOptOnly, "the -O-only finding of \(request.cellID) has no passing cell")
            }
            let signature = bad.signature ?? FailureSignature(result: bad)!
            let matrixPath = request.matrixPath ?? summary.matrixPath
            guard let cell = try InvestigationSession<TriageRecord>.cell(bad.cellID, matrixPath: matrixPath) else {
                throw TriageError(.notFound, "cell \(bad.cellID) is no longer in \(matrixPath); pass --matrix FILE with the matrix the run used")
            }
            let built = cell.levels.indices.filter { cell.levels[$0].build != nil }
            let levels = built.filter { cell.levels[$0].build?.opt == high }
            guard !levels.isEmpty else {
                throw TriageError(.noBuiltLevel, "cell \(bad.cellID) builds no level at -\(high.rawValue): nothing to triage")
            }
            // The same revision: every level at its commit in the run.
            var pinned: [Int: String] = [:]
            for index in built { pinned[index] = bad.commits[cell.levels[index].component] }

            let history = request.runs == nil ? try await store.history(matrix: summary.matrix, cellID: bad.cellID, limit: 60) : []
            let flake = InvestigationSession<TriageRecord>.flake(runs: request.runs, history: history, runID: request.runID, signature: signature)
            let id = "t" + SHA256.hex(of: [request.runID, bad.cellID, low.rawValue, high.rawValue].joined(separator: "\n")).prefix(12)
            let previous = try await store.triage(id: id)
            var record = TriageRecord(
                id: id, runID: request.runID, cellID: bad.cellID, passingCellID: good.cellID, matrix: summary.matrix, low: low, high: high,
                signature: signature, bootsPerStep: flake.boots, bootsReason: flake.reason, investigationRunID: "", status: .running,
                candidates: [], minimalFlags: nil, units: [], minimalUnits: nil,
                components: Dictionary(uniqueKeysWithValues: levels.map { ($0, cell.levels[$0].component) }),
                steps: [], flagTests: 0, unitTests: 0, builds: 0, cachedBuilds: 0, boots: 0, reusedBoots: 0, seconds: 0, notes: [],
                started: previous?.started ?? Date(), finished: nil)
            // A resumed triage replays its steps from the recorded boots (never booted again,
            // never counted again): its cost and time so far carry over.
            if let previous {
                record.seconds = previous.seconds
                record.builds = previous.builds
                record.cachedBuilds = previous.cachedBuilds
                record.boots = previous.boots
            }
            let others = failing.filter { $0.cellID != bad.cellID && opt($0) != nil }.map(\.cellID)
            return Setup(cell: cell, levels: levels, pinned: pinned, record: record, matrixPath: matrixPath, others: others)
        }
    }

    /// One process's share of a triage.
    struct Session: InvestigationSessionHolder {
        let setup: Setup
        let maxBuilds: Int
        var core: InvestigationSession<TriageRecord>

        init(setup: Setup, store: ArtifactStore, options: RunOptions, progress: @escaping @Sendable (String) -> Void, maxBuilds: Int) {
            self.setup = setup
            self.maxBuilds = maxBuilds
            core = InvestigationSession(kind: "triage", store: store, options: options, matrixPath: setup.matrixPath, progress: progress, record: setup.record)
        }

        var high: OptLevel { record.high }
        var low: OptLevel { record.low }
        var wrappers: String { "\(options.store)/wrappers" }

        mutating func run() async throws {
            try await core.open()
            let run = core.investigation!
            progress("triaging \(record.cellID): passes at -\(low.rawValue), fails at -\(high.rawValue) (\(record.signature)); steps in run \(run.runID)")
            progress("\(record.bootsPerStep) boot\(record.bootsPerStep == 1 ? "" : "s") a step: \(record.bootsReason)")
            try await store.saveTriage(record)
            try await flags()
            try await store.saveTriage(record)
            try await units()
            try await confirm()
        }

        // MARK: The other failing levels

        /// Checks the minimal sets at each other failing level of the finding (2 steps each).
        mutating func confirm() async throws {
            guard record.minimalFlags != nil || record.minimalUnits != nil else { return }
            for other in setup.others {
                var request = TriageRequest(runID: record.runID, cellID: other, matrixPath: setup.matrixPath, runs: record.bootsPerStep)
                request.maxBuilds = maxBuilds
                let otherSetup = try await Setup.make(request, store: store)
                let level = otherSetup.record.high.rawValue
                let outer = progress
                var check = Session(
                    setup: otherSetup, store: store, options: options, progress: { outer("at -\(level): " + $0) }, maxBuilds: maxBuilds - record.builds)
                check.core.runner = core.runner
                check.core.investigation = core.investigation
                var confirmation = TriageConfirmation(cellID: other, opt: otherSetup.record.high, flagsPass: nil, unitsFail: nil)
                if let flags = record.minimalFlags { confirmation.flagsPass = try await check.flagTest(flags) }
                if let units = record.minimalUnits { confirmation.unitsFail = try await check.unitTest(units) }
                for var step in check.record.steps {
                    step.phase = .confirm
                    record.steps.append(step)
                }
                record.builds += check.record.builds
                record.cachedBuilds += check.record.cachedBuilds
                record.boots += check.record.boots
                record.reusedBoots += check.record.reusedBoots
                record.confirmations.append(confirmation)
                progress("also: " + (record.confirmationSentence ?? ""))
                try await store.saveTriage(record)
            }
        }

        // MARK: Step 1, flags

        mutating func flags() async throws {
            let spec = setup.cell.levels[setup.levels[0]].build!
            do {
                record.candidates = try await OptimizerFlags.candidates(compiler: spec.compiler, low: low, high: high, bits: spec.bits)
            } catch let error as OptimizerFlagsError {
                // Not a GCC-like compiler: the units can still be narrowed.
                record.notes.append("flags not narrowed: \(error.message)")
                progress("flags: " + error.message)
                return
            }
            let candidates = record.candidates
            progress("flags: \(candidates.count) candidates enabled at -\(high.rawValue) and not at -\(low.rawValue)")
            guard !candidates.isEmpty else { return }
            // The whole set first: if disabling every candidate still fails, no subset can explain it.
            guard try await flagTest(candidates) else {
                record.flagTests = 1
                record.notes.append("disabling all \(candidates.count) flags -\(high.rawValue) adds still fails: the failure needs -O behaviour no -f flag controls")
                progress("flags: " + record.flagsSentence)
                return
            }
            let priority = candidates.prefix { OptimizerFlags.undefinedBehaviourFirst.contains($0) }.count
            let outcome = try await minimize(candidates, priority: priority) { session, subset in try await session.flagTest(subset) }
            record.flagTests = outcome.tests + 1
            record.minimalFlags = outcome.minimal
            progress("flags: " + record.flagsSentence)
        }

        /// True when `-Ob` with `disabled` turned off passes.
        mutating func flagTest(_ disabled: [String]) async throws -> Bool {
            let extra = disabled.map(OptimizerFlags.disabling)
            let variants = variants { _ in BuildVariant(extraFlags: extra) }
            let label = "flags-\(disabled.count)-" + SHA256.hex(of: extra.joined(separator: " ")).prefix(10)
            let verdict = try await judge(variants, label: label, phase: .flags, disabled: disabled, units: [])
            return verdict == .good
        }

        // MARK: Step 2, units

        mutating func units() async throws {
            // The full -Ob build through the wrapper: the list of units.
            var folders: [Int: String] = [:]
            for index in setup.levels {
                folders[index] = try wrapper(level: index, listed: [], otherOpt: nil)
            }
            let list = try await judge(variants { BuildVariant(pathPrefix: folders[$0]) }, label: "units-all", phase: .unitList, disabled: [], units: [])
            record.units = setup.levels.flatMap { index in CompilerWrapper.units(of: folders[index]!).map { TriageUnit(level: index, path: $0) } }
            guard !record.units.isEmpty else {
                record.notes.append(CompilerWrapper.bypassed)
                progress("units: " + CompilerWrapper.bypassed)
                return
            }
            progress("units: \(record.units.count) translation units")
            guard list == .bad else {
                record.notes.append("the full -\(high.rawValue) build through the compiler wrapper did not fail the original way (\(list.name)): units not narrowed")
                return
            }
            let outcome = try await minimize(record.units) { session, subset in try await session.unitTest(subset) }
            record.unitTests = outcome.tests
            record.minimalUnits = outcome.minimal
            try await otherwise()
            progress("units: " + record.unitsSentence)
        }

        /// "Passes otherwise": ddmin takes for granted that no unit at -Ob passes, so it is
        /// checked, the minimal units at -Oa too (every unit at -Oa through the wrapper). It
        /// fails when -Ob code escapes the wrapper (a unit compiled by an absolute path).
        mutating func otherwise() async throws {
            let verdict = try await unitVerdict([], phase: .otherwise)
            switch verdict {
            case .good: record.passesOtherwise = true
            case .bad: record.passesOtherwise = false
            default:
                record.passesOtherwise = nil
                record.notes.append("every unit at -\(low.rawValue) through the wrapper could not be judged (\(verdict.name)): \"passes otherwise\" not confirmed")
            }
        }

        /// True when `optimised` at -Ob, every other unit at -Oa, fails the original way.
        mutating func unitTest(_ optimised: [TriageUnit]) async throws -> Bool {
            try await unitVerdict(optimised, phase: .units) == .bad
        }

        /// `optimised` at -Ob, every other unit at -Oa, built through the wrapper and booted.
        mutating func unitVerdict(_ optimised: [TriageUnit], phase: TriageStep.Phase) async throws -> StepVerdict {
            var folders: [Int: String] = [:]
            for index in setup.levels {
                folders[index] = try wrapper(level: index, listed: optimised.filter { $0.level == index }.map(\.path), otherOpt: low.flag)
            }
            let label = "units-\(optimised.count)-" + SHA256.hex(of: optimised.sorted().map { "\($0.level):\($0.path)" }.joined(separator: "\n")).prefix(10)
            return try await judge(variants { BuildVariant(pathPrefix: folders[$0]) }, label: label, phase: phase, disabled: [], units: optimised)
        }

        func wrapper(level: Int, listed: [String], otherOpt: String?) throws -> String {
            let spec = setup.cell.levels[level].build!
            let wrapper = CompilerWrapper(
                listed: listed, listedOpt: high.flag, otherOpt: otherOpt, compiler: spec.compiler, tag: "level=\(level) component=\(spec.component)")
            return try wrapper.install(under: wrappers)
        }

        // MARK: Steps

        /// ddmin over `items`, each test a step of this session (its record and costs kept
        /// also when the search throws: maxBuilds reached, cancelled).
        mutating func minimize<Element: Hashable>(
            _ items: [Element], priority: Int = 0, _ test: (inout Session, [Element]) async throws -> Bool
        ) async throws -> DeltaDebugging.Outcome<Element> {
            var session = self
            defer { self = session }
            return try await DeltaDebugging.minimize(items, priority: priority) { subset in try await test(&session, subset) }
        }

        /// Every built level pinned to the run's commit, the triaged ones with `change`'s variant.
        func variants(_ change: (Int) -> BuildVariant) -> [Int: BuildVariant] {
            var variants = setup.pinned.mapValues { BuildVariant(commit: $0) }
            for index in setup.levels {
                var variant = change(index)
                variant.commit = setup.pinned[index]
                variants[index] = variant
            }
            return variants
        }

        /// Builds and boots one configuration (once more when weak or INFRA) and records the step.
        mutating func judge(_ variants: [Int: BuildVariant], label: String, phase: TriageStep.Phase, disabled: [String], units: [TriageUnit]) async throws -> StepVerdict {
            try Task.checkCancellation()
            guard record.builds < maxBuilds else {
                throw TriageError(.budget, "stopped after \(record.builds) builds (maxBuilds \(maxBuilds))")
            }
            let k = record.bootsPerStep
            var step = try await boot(variants, label: label, boots: k)
            var verdict = StepClassifier.classify(step.results, original: record.signature)
            switch verdict {
            case .weak, .retry:
                let first = step.results.count
                step = try await boot(variants, label: label, boots: first + k)
                verdict = StepClassifier.classify(Array(step.results.dropFirst(first)), original: record.signature, secondTry: true)
            default: break
            }
            var note: String?
            if case .skip(let why) = verdict { note = why }
            record.steps.append(
                TriageStep(
                    phase: phase, disabled: disabled, units: units, verdict: verdict.name, note: note,
                    signature: step.results.lazy.compactMap { $0.signature ?? FailureSignature(result: $0) }.first, runID: step.runID,
                    cellIDs: step.results.map(\.cellID), builds: step.builds, boots: step.boots))
            let what = phase == .flags ? "-\(high.rawValue) \(disabled.map(OptimizerFlags.disabling).prefix(4).joined(separator: " "))\(disabled.count > 4 ? " …(\(disabled.count))" : "")"
                : phase == .unitList ? "all units at -\(high.rawValue) (wrapper)"
                : phase == .otherwise ? "every unit at -\(low.rawValue) (wrapper)" : "\(units.prefix(3).map(record.name).joined(separator: " "))\(units.count > 3 ? " …(\(units.count))" : "") at -\(high.rawValue)"
            progress("step \(record.steps.count): \(what): \(verdict.name)\(note.map { " (\($0))" } ?? "")")
            try await store.saveTriage(record)
            return verdict
        }

        mutating func boot(_ variants: [Int: BuildVariant], label: String, boots: Int) async throws -> AdHocStep {
            try await core.boot(setup.cell, variants: variants, boots: boots, label: label, stopOnPass: true)
        }
    }
}

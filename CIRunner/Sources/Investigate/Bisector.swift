import Foundation
import Hypervisor
import Matrix

/// What to bisect: `nestci bisect RUN/CELL [--level N] [--good REV] [--bad REV] [--runs K] [--max-steps N]`.
public struct BisectRequest: Sendable, Codable, Hashable {
    public var runID: String
    public var cellID: String
    /// The level whose component is bisected (default: the one whose commit moved).
    public var level: Int?
    /// Overrides the good commit (default: the cell's commit in its last passing run).
    public var good: String?
    /// Overrides the bad commit (default: the cell's commit in RUN).
    public var bad: String?
    /// Boots per step (default: ``FlakeRule``).
    public var runs: Int?
    /// Most bisection steps before giving up (confirmation not counted).
    public var maxSteps: Int
    /// The matrix file to take the cell's definition from (default: the run's).
    public var matrixPath: String?

    public init(runID: String, cellID: String, level: Int? = nil, good: String? = nil, bad: String? = nil, runs: Int? = nil, maxSteps: Int = 30, matrixPath: String? = nil) {
        self.runID = runID
        self.cellID = cellID
        self.level = level
        self.good = good
        self.bad = bad
        self.runs = runs
        self.maxSteps = maxSteps
        self.matrixPath = matrixPath
    }
}

/// Why a bisect cannot start.
public struct BisectError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound, notAFailure, noGoodRun, nothingMoved, badRange
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// Finds the commit that introduced a cell's failure: git's bisection over the DAG of the
/// level that moved, each step an ad-hoc run of the cell (``AdHocRunner``) judged by the
/// failure's signature (``StepClassifier``), K boots a step (``FlakeRule``), the culprit and
/// its parents booted again at the end, every step recorded (``BisectRecord``) so that asking
/// again continues where it stopped.
public enum Bisector {
    /// Runs (or continues) the bisect. Cancelling the task stops it at once, its processes
    /// killed: the record is saved with status `cancelled` and returned (asking again
    /// continues it). Progress lines go to `progress`.
    ///
    /// - Throws: ``BisectError`` when it cannot start; store, matrix and source errors.
    public static func run(
        _ request: BisectRequest, store: ArtifactStore, options: RunOptions, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> BisectRecord {
        let setup = try await Setup.make(request, store: store, options: options)
        var record = setup.record
        if record.status == .finished { return record }
        try await store.checkBisectNotRunningElsewhere(record.id)
        record.status = .running
        try await store.saveBisect(record)
        var session = Session(setup: setup, store: store, options: options, progress: progress, record: record)
        do {
            try await session.run()
        } catch where error is CancellationError || Task.isCancelled {
            // A child killed by the cancellation (git, make, the emulator) throws its own
            // error; it is still the cancellation, not a failed bisect.
            session.record.status = .cancelled
            session.record.notes.append("cancelled; `nestci bisect \(request.runID)/\(request.cellID)` again continues it")
        } catch {
            session.record.status = .failed
            session.record.notes.append("\(error)")
            session.close()
            try? await store.saveBisect(session.record)
            throw error
        }
        session.close()
        try await store.saveBisect(session.record)
        if session.record.status == .finished, let run = session.investigation {
            try? await run.finish(store: store)
        }
        return session.record
    }

    /// What the request resolves to before any boot.
    struct Setup {
        var cell: Cell
        var levelIndices: [Int]
        /// Commit per level index for a step other than the bisected component's.
        var pinned: [Int: String]
        var history: GitHistory
        var record: BisectRecord
        var flake: FlakeRule.Decision
        var matrixPath: String
        var maxSteps: Int

        static func make(_ request: BisectRequest, store: ArtifactStore, options: RunOptions) async throws -> Setup {
            guard let summary = try await store.run(request.runID) else {
                throw BisectError(.notFound, "no run \(request.runID) in \(store.root); `nestci runs` lists them")
            }
            guard let failing = try await store.cell(runID: request.runID, cellID: request.cellID) else {
                throw BisectError(.notFound, "run \(request.runID) has no cell \(request.cellID); `nestci show \(request.runID)` lists its cells")
            }
            guard failing.outcome == .fail || failing.outcome == .timeout, let signature = failing.signature ?? FailureSignature(result: failing) else {
                throw BisectError(.notAFailure, "cell \(request.cellID) of run \(request.runID) is \(failing.outcome.rawValue): only a FAIL or TIMEOUT cell can be bisected")
            }
            let matrixPath = request.matrixPath ?? summary.matrixPath
            guard let cell = try InvestigationSession<BisectRecord>.cell(request.cellID, matrixPath: matrixPath) else {
                throw BisectError(.notFound, "cell \(request.cellID) is no longer in \(matrixPath); pass --matrix FILE with the matrix the run used")
            }
            let history = try await store.history(matrix: summary.matrix, cellID: request.cellID, limit: 60)
            let lastGood = history.first { $0.runID < request.runID && $0.result.outcome == .pass }
            let badCommits = failing.commits
            let goodCommits = lastGood?.result.commits ?? [:]
            let built = cell.levels.indices.filter { cell.levels[$0].build != nil }

            // The bisected level: asked for, or the one whose commit moved.
            let moved = built.filter { goodCommits[cell.levels[$0].component] != nil && goodCommits[cell.levels[$0].component] != badCommits[cell.levels[$0].component] }
            let movedComponents = orderedUnique(moved.map { cell.levels[$0].component })
            var notes: [String] = []
            let component: String
            if let level = request.level {
                guard cell.levels.indices.contains(level), cell.levels[level].build != nil else {
                    throw BisectError(.badRange, "--level \(level): the cell's built levels are \(built.map(String.init).joined(separator: ", "))")
                }
                component = cell.levels[level].component
            } else if let first = movedComponents.first {
                component = first
                if movedComponents.count > 1 {
                    notes.append("levels \(movedComponents.joined(separator: ", ")) moved; bisecting \(first) with \(movedComponents.dropFirst().joined(separator: ", ")) held at the good commits (--level N picks another)")
                }
            } else if request.good != nil, let first = built.first {
                component = cell.levels[first].component
            } else if lastGood == nil {
                throw BisectError(.noGoodRun, "cell \(request.cellID) never passed in an earlier run of \(summary.matrix); pass --good REV")
            } else {
                throw BisectError(
                    .nothingMoved,
                    "no level's commit moved between run \(lastGood!.runID) (passed) and \(request.runID): not a commit regression (a configuration change or a flake?); pass --good REV to bisect anyway")
            }
            let levels = built.filter { cell.levels[$0].component == component }
            let repository = cell.levels[levels[0]].build!.repository
            let resolver = RevisionResolver(store: URL(fileURLWithPath: options.store))
            let git = GitHistory(mirror: try await resolver.update(repository: repository))
            guard let goodRev = request.good ?? goodCommits[component], let badRev = request.bad ?? badCommits[component] else {
                throw BisectError(.noGoodRun, "no good commit of \(component) known for cell \(request.cellID); pass --good REV")
            }
            let good = try await git.resolve(goodRev)
            let bad = try await git.resolve(badRev)
            guard good != bad else { throw BisectError(.badRange, "good and bad are the same commit \(good.prefix(12)) of \(component)") }
            guard await git.isAncestor(good, of: bad) else {
                throw BisectError(.badRange, "good \(good.prefix(12)) is not an ancestor of bad \(bad.prefix(12)) in \(component): give --good a commit bad descends from")
            }
            notes.insert("bisecting \(component) (level \(levels.map(String.init).joined(separator: ","))) from good \(good.prefix(9))\(lastGood.map { " (run \($0.runID))" } ?? "") to bad \(bad.prefix(9))\(built.count > levels.count ? "; other levels pinned to run \(request.runID)'s commits" : "")", at: 0)

            var pinned: [Int: String] = [:]
            for index in built where !levels.contains(index) {
                let other = cell.levels[index].component
                let held = movedComponents.contains(other) ? goodCommits[other] : badCommits[other]
                if let commit = held ?? badCommits[other] { pinned[index] = commit }
            }
            let flake = InvestigationSession<BisectRecord>.flake(runs: request.runs, history: history, runID: request.runID, signature: signature)
            let id = "b" + SHA256.hex(of: [request.runID, request.cellID, component, good, bad].joined(separator: "\n")).prefix(12)
            var record = try await store.bisect(id: id)
                ?? BisectRecord(
                    id: id, runID: request.runID, cellID: request.cellID, matrix: summary.matrix, level: levels[0], component: component,
                    good: good, bad: bad, signature: signature, bootsPerStep: flake.boots, bootsReason: flake.reason, investigationRunID: "",
                    status: .running, steps: [], culprit: nil, builds: 0, cachedBuilds: 0, boots: 0, minutes: 0, confidence: nil,
                    notes: notes, started: Date(), finished: nil)
            // An unfinished bisect's steps are replayed from its recorded boots (never booted again).
            if record.status != .finished { record.steps = [] }
            return Setup(
                cell: cell, levelIndices: levels, pinned: pinned, history: git, record: record, flake: flake, matrixPath: matrixPath,
                maxSteps: request.maxSteps)
        }

        static func orderedUnique(_ values: [String]) -> [String] {
            var seen = Set<String>()
            return values.filter { seen.insert($0).inserted }
        }
    }

    /// One process's share of a bisect.
    struct Session: InvestigationSessionHolder {
        let setup: Setup
        var core: InvestigationSession<BisectRecord>

        init(setup: Setup, store: ArtifactStore, options: RunOptions, progress: @escaping @Sendable (String) -> Void, record: BisectRecord) {
            self.setup = setup
            core = InvestigationSession(kind: "bisect", store: store, options: options, matrixPath: setup.matrixPath, progress: progress, record: record)
        }

        mutating func run() async throws {
            try await core.open()
            progress(record.notes[0])
            progress(record.bootsReason)

            var goods = [record.good]
            var bad = record.bad
            var skipped: [String: String] = [:]
            var steps = 0
            while true {
                try Task.checkCancellation()
                let all = try await setup.history.candidates(bad: bad, goods: goods)
                let remaining = all.filter { $0 != bad && skipped[$0] == nil }
                if remaining.isEmpty {
                    let unknown = all.filter { skipped[$0] != nil }
                    if !unknown.isEmpty {
                        record.status = .failed
                        record.notes.append(
                            "only skipped commits left: the first bad commit is one of \(([bad] + unknown).map { String($0.prefix(9)) }.joined(separator: ", ")) (\(unknown.map { "\($0.prefix(9)): \(skipped[$0]!)" }.joined(separator: "; ")))")
                        return
                    }
                    break
                }
                guard steps < maxSteps else {
                    record.status = .failed
                    record.notes.append("--max-steps \(maxSteps) reached with \(remaining.count) commits left between good and \(bad.prefix(9))")
                    return
                }
                let next = remaining[0]
                steps += 1
                let (verdict, step) = try await judge(next, purpose: .bisect)
                progress("step \(steps): \(next.prefix(9)) \(verdict.name)\(step.note.map { " (\($0))" } ?? "") [\(remaining.count) left]")
                switch verdict {
                case .good: goods.append(next)
                case .bad: bad = next
                case .skip(let why):
                    skipped[next] = why
                    record.notes.append("skipped \(next.prefix(9)): \(why)")
                case .weak, .retry: skipped[next] = "undecided"
                }
                try await store.saveBisect(record)
            }
            try await confirm(bad)
        }

        var maxSteps: Int { max(1, setup.maxSteps) }

        /// The variants of a step at `commit` of the bisected component.
        func variants(_ commit: String) -> [Int: BuildVariant] {
            var variants = setup.pinned.mapValues { BuildVariant(commit: $0) }
            for index in setup.levelIndices { variants[index] = BuildVariant(commit: commit) }
            return variants
        }

        /// Boots `commit` (K boots, once more when weak or INFRA) and records the step.
        mutating func judge(_ commit: String, purpose: BisectStep.Purpose) async throws -> (StepVerdict, BisectStep) {
            let k = record.bootsPerStep
            var step = try await boot(commit, boots: k, stopOnPass: true)
            var results = step.results
            var verdict = StepClassifier.classify(results, original: record.signature)
            switch verdict {
            case .weak, .retry:
                step = try await boot(commit, boots: 2 * k, stopOnPass: true)
                results = Array(step.results.dropFirst(min(k, step.results.count)))
                verdict = StepClassifier.classify(results, original: record.signature, secondTry: true)
            default: break
            }
            let recorded = append(commit, purpose: purpose, verdict: verdict, results: step.results)
            return (verdict, recorded)
        }

        mutating func boot(_ commit: String, boots: Int, stopOnPass: Bool) async throws -> AdHocStep {
            try await core.boot(setup.cell, variants: variants(commit), boots: boots, label: String(commit.prefix(9)), stopOnPass: stopOnPass)
        }

        mutating func append(_ commit: String, purpose: BisectStep.Purpose, verdict: StepVerdict, results: [CellResult]) -> BisectStep {
            var note: String?
            if case .skip(let why) = verdict { note = why }
            let step = BisectStep(
                commit: commit, purpose: purpose, verdict: verdict.name, outcomes: results.map(\.outcome),
                signature: results.lazy.compactMap(\.signature).first, runID: investigation!.runID, cellIDs: results.map(\.cellID), note: note)
            record.steps.append(step)
            return step
        }

        /// Boots the culprit and each parent at least twice; sets the culprit and confidence.
        mutating func confirm(_ culprit: String) async throws {
            let boots = max(2, record.bootsPerStep)
            let culpritStep = try await boot(culprit, boots: boots, stopOnPass: false)
            let culpritVerdict = StepClassifier.classify(culpritStep.results, original: record.signature, secondTry: true)
            _ = append(culprit, purpose: .confirm, verdict: culpritVerdict, results: culpritStep.results)
            progress("confirm: \(culprit.prefix(9)) \(culpritStep.results.map(\.outcome.rawValue).joined(separator: ", "))")
            var parentResults: [[CellResult]] = []
            let parents = try await setup.history.parents(culprit)
            for parent in parents {
                let step = try await boot(parent, boots: boots, stopOnPass: false)
                let verdict = StepClassifier.classify(step.results, original: record.signature, secondTry: true)
                _ = append(parent, purpose: .confirm, verdict: verdict, results: step.results)
                progress("confirm parent: \(parent.prefix(9)) \(step.results.map(\.outcome.rawValue).joined(separator: ", "))")
                parentResults.append(step.results)
            }
            let info = try await setup.history.describe(culprit)
            record.culprit = BisectCommit(commit: culprit, subject: info.subject, author: info.author, date: info.date, parents: parents)
            let badBoots = record.steps.filter { $0.verdict == "bad" }.reduce(0) { $0 + $1.outcomes.count }
            record.confidence = BisectConfidence.compute(
                culprit: culpritStep.results, parents: parentResults, signature: record.signature,
                flakeRate: setup.flake.flakeRate, historyRuns: setup.flake.runs, badBoots: badBoots)
            if culpritVerdict != .bad { record.notes.append("confirmation: the culprit did not fail the same way on every boot") }
            for (parent, results) in zip(parents, parentResults) where !results.contains(where: { $0.outcome == .pass }) {
                record.notes.append("confirmation: parent \(parent.prefix(9)) did not pass")
            }
            record.status = .finished
        }
    }
}

/// How sure a bisect is of its culprit.
///
/// The culprit is a first bad commit exactly when it is bad and all its parents are good,
/// whatever the other steps said; so the confidence is that of the confirmation boots:
///
///     confidence = (1 − p^f) × Π over parents (1 − q^s)
///
/// - f: the culprit's confirmation boots that failed with the signature (0 if any passed:
///   then the factor is 0). A good commit shows the failure on a boot with the flake rate p
///   (FlakeRule's estimate; with no flake seen, the rule of succession 1/(n+2) over the n
///   runs looked at), so all f boots failing on a good commit has chance p^f.
/// - s: a parent's confirmation boots that passed (0 passes: factor 0). A bad commit passes
///   a boot with some chance q; bad commits in this bisect failed on every one of their B
///   boots, so q is estimated 1/(B+2) (rule of succession), and s passes of a bad parent has
///   chance q^s.
public enum BisectConfidence {
    public static func compute(
        culprit: [CellResult], parents: [[CellResult]], signature: FailureSignature, flakeRate: Double, historyRuns: Int, badBoots: Int
    ) -> Double {
        let p = flakeRate > 0 ? flakeRate : 1.0 / Double(historyRuns + 2)
        let failing = culprit.filter { ($0.signature ?? FailureSignature(result: $0)) == signature }.count
        guard !culprit.contains(where: { $0.outcome == .pass || $0.outcome == .flaky }), failing > 0 else { return 0 }
        var confidence = 1 - pow(p, Double(failing))
        let q = 1.0 / Double(badBoots + 2)
        for results in parents {
            let passes = results.filter { $0.outcome == .pass }.count
            confidence *= passes == 0 ? 0 : 1 - pow(q, Double(passes))
        }
        return (confidence * 100).rounded(.down) / 100
    }
}

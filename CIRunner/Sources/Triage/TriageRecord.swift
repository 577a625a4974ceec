import Foundation
import Hypervisor
import Matrix

/// The finding's other failing -O levels checked against what the triage found: the
/// minimal flags disabled there too should pass, the minimal units alone optimised should fail.
public struct TriageConfirmation: Sendable, Codable, Equatable {
    public var cellID: String
    public var opt: OptLevel
    /// Nil when there was nothing to check (no minimal set).
    public var flagsPass: Bool?
    public var unitsFail: Bool?

    /// True when every check made agrees.
    public var agrees: Bool { flagsPass != false && unitsFail != false }
}

/// A translation unit of one built level, as the compiler wrapper logged it.
public struct TriageUnit: Sendable, Codable, Hashable, Comparable {
    /// The chain level (index) whose build compiles it.
    public var level: Int
    /// The source relative to the build root (the level's worktree).
    public var path: String

    public init(level: Int, path: String) {
        self.level = level
        self.path = path
    }

    public static func < (lhs: TriageUnit, rhs: TriageUnit) -> Bool { (lhs.level, lhs.path) < (rhs.level, rhs.path) }
}

/// One step of a triage: a build and K boots of one configuration.
public struct TriageStep: Sendable, Codable, Equatable {
    public enum Phase: String, Sendable, Codable {
        /// `-Ob -fno-X …`: the flags disabled are ``disabled``.
        case flags
        /// The first full -Ob build through the compiler wrapper (lists the units).
        case unitList
        /// ``units`` at -Ob, every other unit at -Oa.
        case units
        /// A check at another failing level of the finding (``TriageConfirmation``).
        case confirm
        /// After the unit search: every unit at -Oa through the wrapper (the minimal units
        /// at -Oa too), which must pass for "passes otherwise".
        case otherwise
    }

    public var phase: Phase
    /// The flags disabled (`-fstrict-aliasing` for `-fno-strict-aliasing`), phase flags.
    public var disabled: [String]
    /// The units built at -Ob, phase units.
    public var units: [TriageUnit]
    /// `good`, `bad`, `skip` (StepVerdict names; weak and retry are tried twice first).
    public var verdict: String
    /// Why a step was skipped, or what it showed.
    public var note: String?
    /// The signature of the first failing boot, if any failed.
    public var signature: FailureSignature?
    /// The investigation run holding the boots, and their cell ids (for `nestci show`).
    public var runID: String
    public var cellIDs: [String]
    /// Builds started (0: all cached) and boots performed by this step.
    public var builds: Int
    public var boots: Int
}

/// What `nestci triage` found for one -O-only failure, kept in the store (table `triages`)
/// and shown in `nestci report`, on the dashboard's -O finding, in the webhook and `--json`.
public struct TriageRecord: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case running, finished, failed, cancelled
    }

    /// `t` + 12 hex digits of the run, cell and levels: the same triage resumes under it.
    public var id: String
    /// The run and cell triaged (the failing one) and the passing cell of the finding.
    public var runID: String
    public var cellID: String
    public var passingCellID: String
    public var matrix: String
    /// -Oa (passes) and -Ob (fails).
    public var low: OptLevel
    public var high: OptLevel
    /// The failure's signature: a step failing this way is bad.
    public var signature: FailureSignature
    public var bootsPerStep: Int
    public var bootsReason: String
    /// The store run holding every step's boots (an investigation run).
    public var investigationRunID: String
    public var status: Status

    /// The candidate flags (enabled at -Ob, not at -Oa), undefined-behaviour ones first.
    public var candidates: [String]
    /// The minimal set S (disabling all of S passes, any proper subset still fails); nil
    /// when no set of flags explains the failure (or the flag step did not end).
    public var minimalFlags: [String]?
    /// The units the first -Ob build through the wrapper compiled.
    public var units: [TriageUnit]
    /// The minimal set of units that must be built at -Ob for the failure; nil when not found.
    public var minimalUnits: [TriageUnit]?
    /// Whether the cell passed with the minimal units at -Oa too (every unit at -Oa through
    /// the wrapper): true is "passes otherwise"; nil when not checked or not judged.
    public var passesOtherwise: Bool? = nil
    /// The components of the built levels, by level (to name units of several levels).
    public var components: [Int: String]

    public var steps: [TriageStep]
    /// The finding's other failing levels, checked (`-O3` when `-O2` was triaged).
    public var confirmations: [TriageConfirmation] = []
    /// Tests (steps) each minimisation needed, for `nestci bench triage`.
    public var flagTests: Int
    public var unitTests: Int
    /// Builds started, builds answered by the cache, boots performed, boots reused (resumed).
    public var builds: Int
    public var cachedBuilds: Int
    public var boots: Int
    public var reusedBoots: Int
    /// Wall-clock time spent, over every session of this triage.
    public var seconds: Double
    /// What happened that the findings do not say (bypassed wrapper, skipped steps, limits).
    public var notes: [String]
    public var started: Date
    public var finished: Date?

    /// A unit's name for people: its path, prefixed by its component when several levels are built.
    public func name(_ unit: TriageUnit) -> String {
        Set(components.values).count > 1 ? "\(components[unit.level] ?? "level\(unit.level)")/\(unit.path)" : unit.path
    }

    /// The flags sentence: `fails at -O3; passes at -O3 -fno-strict-aliasing: the failure
    /// needs -fstrict-aliasing (typical of …)`.
    public var flagsSentence: String {
        guard let flags = minimalFlags else {
            if let trouble = notes.first(where: { $0.hasPrefix("flags not narrowed:") }) { return trouble }
            if candidates.isEmpty { return "no optimisation flag is enabled at -\(high.rawValue) and not at -\(low.rawValue): nothing to narrow" }
            // No flag test concluded (still going, cancelled, or stopped by maxBuilds): nothing is claimed.
            if flagTests == 0 { return status == .failed ? "flags: not narrowed (the triage stopped first)" : "flags: not narrowed yet" }
            return "fails at -\(high.rawValue), even with all \(candidates.count) flags it adds over -\(low.rawValue) disabled: no -f flag explains it (some -O behaviour has no flag)"
        }
        let disable = flags.map(OptimizerFlags.disabling).joined(separator: " ")
        let meaning = flags.count == 1 ? OptimizerFlags.meaning[flags[0]].map { " (\($0))" } ?? "" : ""
        return "fails at -\(high.rawValue); passes at -\(high.rawValue) \(disable): the failure needs \(flags.joined(separator: " and "))\(meaning)"
    }

    /// The units sentence: `fails when vmcs_link.c is built at -O3 (everything else at -O0); passes otherwise`.
    public var unitsSentence: String {
        guard let units = minimalUnits, !units.isEmpty else {
            if let bypass = notes.first(where: { $0.hasPrefix("the build logged no") }) { return bypass }
            return status == .finished ? "no set of units explains it at -\(high.rawValue) with the rest at -\(low.rawValue)" : "units: not narrowed yet"
        }
        let names = units.map(name).joined(separator: " and ")
        let otherwise: String
        switch passesOtherwise {
        case true?: otherwise = "passes otherwise"
        case false?:
            otherwise = "but it fails too with every unit at -\(low.rawValue) through the wrapper, so not only because of \(units.count == 1 ? "this unit" : "these units"): -\(high.rawValue) code escapes the wrapper (a unit compiled by an absolute path, assembly, the link) or the wrapper changes the build"
        case nil: otherwise = "not confirmed that it passes otherwise (every unit at -\(low.rawValue) through the wrapper)"
        }
        return "fails when \(names) \(units.count == 1 ? "is" : "are") built at -\(high.rawValue) (everything else at -\(low.rawValue)); \(otherwise)"
    }

    /// `at -O3 too: passes with -fno-strict-aliasing; fails with only vmcs_link.c at -O3`, nil without checks.
    public var confirmationSentence: String? {
        guard !confirmations.isEmpty else { return nil }
        return confirmations.map { check in
            var parts: [String] = []
            if let pass = check.flagsPass, let flags = minimalFlags {
                parts.append("\(pass ? "passes" : "still fails") with \(flags.map(OptimizerFlags.disabling).joined(separator: " "))")
            }
            if let fail = check.unitsFail, let units = minimalUnits {
                parts.append("\(fail ? "fails" : "passes") with only \(units.map(name).joined(separator: ", ")) at -\(check.opt.rawValue)")
            }
            return "at -\(check.opt.rawValue)\(check.agrees ? " too" : ", NOT the same"): " + parts.joined(separator: "; ")
        }.joined(separator: "; ")
    }

    /// The -O levels the findings hold for: the triaged one and every agreeing confirmation (`O2/O3`).
    public var levelsText: String {
        ([high] + confirmations.filter(\.agrees).map(\.opt)).map(\.rawValue).joined(separator: "/")
    }

    /// The cost line: `11 steps, 9 builds (3 cached), 11 boots, 2.1 min` (over every session).
    public var costSentence: String {
        "\(steps.count) steps, \(builds + cachedBuilds) builds (\(cachedBuilds) cached), \(boots) boots, \(String(format: "%.1f", seconds / 60)) min"
    }

    /// Every line a report prints.
    public var lines: [String] {
        var lines = ["-O triage \(id) of \(cellID) (-\(low.rawValue) passes, -\(high.rawValue) fails; \(status.rawValue)):"]
        lines.append("  flags: " + flagsSentence)
        lines.append("  units: " + unitsSentence)
        if let confirmation = confirmationSentence { lines.append("  also: " + confirmation) }
        lines.append("  cost: " + costSentence + "; steps in run \(investigationRunID)")
        lines += notes.map { "  note: " + $0 }
        return lines
    }

    /// The demo's line: `the O2/O3 failure needs -fstrict-aliasing; the unit: vmcs_link.c`.
    public static func demoLine(_ record: TriageRecord) -> String {
        let levels = record.levelsText
        let flags = record.minimalFlags.map { $0.joined(separator: " and ") } ?? "no single flag"
        let units = record.minimalUnits.map { $0.map(record.name).joined(separator: ", ") } ?? "not found"
        return "the \(levels) failure needs \(flags); the unit\(record.minimalUnits?.count ?? 1 > 1 ? "s" : ""): \(units)"
    }
}

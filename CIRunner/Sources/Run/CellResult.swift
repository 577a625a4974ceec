import Foundation
import Matrix

/// What happened to one cell in one run: the line of the summary table, a row of
/// results.json, a JUnit test case.
public struct CellResult: Sendable, Codable, Equatable {
    public var cellID: String
    public var chain: String
    /// `xmhf64 O3/i386 → lhv O3/i386`.
    public var levels: String
    public var values: [String: String]
    public var backend: String
    public var smp: Int
    public var outcome: Outcome
    /// The deciding rule (`pass`, `halt`, `timeout`, `build`, `infra`, …).
    public var rule: String
    /// Why, in one line: the deciding serial line, the build error, the harness error.
    public var reason: String
    /// 1-based line number of the deciding serial line, when a line decided.
    public var line: Int?
    /// Seconds from boot start to the verdict.
    public var secondsToVerdict: Double?
    /// Wall seconds this cell spent booting (all attempts).
    public var bootSeconds: Double
    /// Seconds from the deciding serial line being written to the emulator being gone.
    public var verdictLatencySeconds: Double?
    /// Resolved commit per component.
    public var commits: [String: String]
    /// Build keys of its levels.
    public var buildKeys: [String]
    /// How many boots it took (INFRA retries, flaky re-runs).
    public var attempts: Int
    /// Files kept for it, relative to the run folder.
    public var artifacts: [String: String]
    /// The matrix's emulator settings it booted with (nil: the backend's defaults).
    public var emulator: EmulatorSettings?
    /// ``CellConfiguration`` fingerprint of the cell's definition (nil in results recorded
    /// before it existed): tells a regression by configuration from one by commit.
    public var configuration: [String: String]?
    /// How it failed, comparably across boots (nil for PASS/FLAKY/SKIP, and in results
    /// recorded before signatures existed): ``FailureSignature``.
    public var signature: FailureSignature?
    /// The deciding boot's timeline: first serial byte, the chain's milestones, the deciding
    /// line (nil in results recorded before milestones existed). See ``MilestoneTime``.
    public var milestones: [MilestoneTime]?
    /// Per-CPU pass rules' counting rates in the deciding boot (nil when none counted).
    public var rates: [CountingRate]?

    public init(
        cell: Cell, outcome: Outcome, rule: String, reason: String, line: Int? = nil, secondsToVerdict: Double? = nil,
        bootSeconds: Double = 0, commits: [String: String] = [:], attempts: Int = 0, artifacts: [String: String] = [:]
    ) {
        cellID = cell.id
        chain = cell.chain
        levels = cell.levelSummary
        values = cell.values
        backend = cell.backend.rawValue
        smp = cell.smp
        self.outcome = outcome
        self.rule = rule
        self.reason = reason
        self.line = line
        self.secondsToVerdict = secondsToVerdict
        self.bootSeconds = bootSeconds
        self.commits = commits
        buildKeys = cell.levels.compactMap { $0.build?.key }
        self.attempts = attempts
        self.artifacts = artifacts
        emulator = cell.emulator
        configuration = CellConfiguration.fingerprint(of: cell)
    }
}

/// A whole run, as written to `results.json`.
public struct RunResults: Sendable, Codable {
    public var runID: String
    public var matrix: String
    public var started: Date
    public var finished: Date
    public var cells: [CellResult]

    /// Count of cells per outcome.
    public var counts: [String: Int] {
        Dictionary(grouping: cells, by: \.outcome.rawValue).mapValues(\.count)
    }

    /// 0 when every cell passed or was skipped.
    public var allAcceptable: Bool { cells.allSatisfy { $0.outcome.isAcceptable } }
}

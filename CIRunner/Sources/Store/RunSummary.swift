import Foundation
import Matrix

/// One run as the store indexes it: what `nestci runs` lists.
public struct RunSummary: Sendable, Codable, Equatable {
    /// `YYYYMMDD-HHMMSS-xxxx` (UTC), see ``ArtifactStore/newRunID(now:)``.
    public var id: String
    public var matrix: String
    public var matrixPath: String
    /// Why it ran: `nightly`, `branch xmhf64 moved to 3c6192ea0`, `manual`.
    public var trigger: String
    public var started: Date
    public var finished: Date?
    /// The status readers should believe: a `running` row whose writer process is gone reads
    /// as ``RunStatus/interrupted``.
    public var status: RunStatus
    /// The status stored in the row (differs from `status` only for a dead writer's run).
    public var storedStatus: RunStatus
    /// Cells the plan had when the run began.
    public var plannedCells: Int
    /// Recorded cells per outcome (``Outcome`` raw values); outcomes with no cell are absent.
    public var counts: [String: Int]
    /// Findings computed when it finished.
    public var findingCount: Int

    /// Cells recorded so far.
    public var recordedCells: Int { counts.values.reduce(0, +) }

    /// Cells that failed through the hypervisor's fault (FAIL, TIMEOUT, BUILD-FAIL).
    public var failedCells: Int {
        counts.filter { Outcome(rawValue: $0.key)?.isFailure == true }.values.reduce(0, +)
    }

    /// `12 PASS, 3 FAIL, 1 TMO` in ``Outcome`` order.
    public var countsText: String {
        let parts = Outcome.allCases.compactMap { outcome in
            counts[outcome.rawValue].map { "\($0) \(outcome.abbreviation)" }
        }
        return parts.isEmpty ? "no cells" : parts.joined(separator: ", ")
    }
}

extension Outcome {
    /// The short form the grid uses: PASS FAIL TMO BFAIL INFRA SKIP FLAKY.
    public var abbreviation: String {
        switch self {
        case .pass: "PASS"
        case .fail: "FAIL"
        case .timeout: "TMO"
        case .buildFail: "BFAIL"
        case .infra: "INFRA"
        case .skip: "SKIP"
        case .flaky: "FLAKY"
        }
    }

    /// The runs table column counting this outcome.
    var countColumn: String {
        switch self {
        case .pass: "n_pass"
        case .fail: "n_fail"
        case .timeout: "n_timeout"
        case .buildFail: "n_build_fail"
        case .infra: "n_infra"
        case .skip: "n_skip"
        case .flaky: "n_flaky"
        }
    }
}

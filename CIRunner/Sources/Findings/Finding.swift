import Foundation
import Matrix

/// Something a developer should read the morning after a run: a bug that only an
/// optimisation level shows, a cell that broke (or was fixed) since the last run, or a value
/// of a user axis (a revision) that breaks what another value passes.
public struct Finding: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Cells equal except in `opt`: some level passes, another fails.
        case optOnly
        /// Passed in the previous run of the same matrix, fails now.
        case regression
        /// Failed in the previous run, passes now.
        case fix
        /// Cells equal except in one user axis: its first value passes, another fails.
        case regressionAcrossAxis
        /// A PASS cell's time to pass or to a milestone is above its history's band (twice).
        case slower
        /// Below its band (twice): an optimisation confirmed.
        case faster
    }

    public var kind: Kind
    /// One line: `minivisor i386: passes at O0, fails at O2, O3 (rev=main)`.
    public var title: String
    /// Every cell the finding compares (of this run; a regression's previous cell has the same id).
    public var cellIDs: [String]
    /// The verdicts compared, passing side first.
    public var verdicts: [Verdict]
    /// Components whose commit differs between the passing and the failing side (empty when
    /// the same commits pass and fail, as in an -O-only bug).
    public var commits: [CommitChange]
    /// The VMCS dumps of the failing cell against the passing one, when both have one. When a
    /// cell at the same -O level passes with another value of a user axis (another
    /// revision), that cell is the passing side: same layout, so only the real difference shows.
    public var vmcsDiff: VMCSEvidence?
    /// The second diff, against the failing revision's own passing -O level (-O0 first), when
    /// `vmcsDiff` compares against another revision. Nil otherwise.
    public var secondVMCSDiff: VMCSEvidence? = nil
    /// What of the cell's configuration changed between the previous run and this one, for a
    /// regression or fix (`build lhv`, `verdict rules`, `emulator`); empty when nothing did,
    /// nil when unknown (a finding of another kind, or a run recorded without fingerprints).
    public var configurationChanges: [String]? = nil
    /// A few lines: each verdict with its deciding line, and what the VMCS diff shows.
    public var detail: String
    /// The known issue (matrix `knownIssues`) its failure matches: reported as "known: LINK",
    /// never bisected or triaged. Nil: a new finding.
    public var known: Known? = nil

    /// The known-issue entry a finding matched.
    public struct Known: Sendable, Codable, Equatable {
        public var link: String
        /// The entry's signature pattern.
        public var signature: String
    }

    /// One cell's verdict as the finding cites it.
    public struct Verdict: Sendable, Codable, Equatable {
        public var runID: String
        public var cellID: String
        /// What distinguishes it within the finding: `O3`, `rev=main`, `previous run`.
        public var label: String
        public var outcome: Outcome
        public var rule: String
        public var reason: String
        public var line: Int?
        public var commits: [String: String]
    }

    /// A component at two commits: `before` on the passing (or earlier) side, `after` on the other.
    public struct CommitChange: Sendable, Codable, Equatable {
        public var component: String
        public var before: String?
        public var after: String?
    }

    /// A VMCS diff between the passing cell's dump (before) and the failing cell's (after).
    public struct VMCSEvidence: Sendable, Codable, Equatable {
        public var passingRunID: String
        public var passingCellID: String
        public var failingRunID: String
        public var failingCellID: String
        /// The differing fields outside the default mask, by encoding.
        public var fields: [Field]
        public var diff: VMCSDiff
        /// The diff as `nestci vmcs diff` prints it.
        public var text: String
    }

    /// One differing VMCS field.
    public struct Field: Sendable, Codable, Equatable {
        /// `0x2800`.
        public var encoding: String
        /// The SDM's name: `VMCS link pointer`.
        public var sdmName: String
        /// The name the hypervisor printed: `guest_VMCS_link_pointer_full`.
        public var printedName: String
        public var group: VMCSFieldGroup
        /// `0xffffffffffffffff`, `unavailable`, or nil when that dump lacks the field.
        public var passing: String?
        public var failing: String?
    }
}

/// What `findings.json` holds.
public struct FindingsReport: Sendable, Codable, Equatable {
    public var runID: String
    public var matrix: String
    /// The run regressions and fixes were measured against, if any.
    public var previousRunID: String?
    public var findings: [Finding]
    /// Known-issue entries ignored because they expired, each naming its file, line and entry.
    public var warnings: [String]? = nil
    /// Component → the matrix's `commitURL` template when the run finished (for the dashboard).
    public var commitURLs: [String: String]? = nil
    /// The -O triages of the run's cells (`nestci report --json`; not in findings.json).
    public var triages: [TriageRecord]? = nil
}

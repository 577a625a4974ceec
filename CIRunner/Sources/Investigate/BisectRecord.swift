import Foundation
import Matrix

/// A bisection of one regressed cell, as the store keeps it (table `bisects`, the record as
/// JSON): what was asked, every step, the culprit, the cost and the confidence.
public struct BisectRecord: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case running, finished, cancelled, failed
    }

    /// Stable id of (run, cell, level, good, bad): the same bisect asked again continues it.
    public var id: String
    /// The failing run and cell bisected.
    public var runID: String
    public var cellID: String
    public var matrix: String
    /// The level index whose component is bisected, and that component.
    public var level: Int
    public var component: String
    /// Full commit ids of the range: `good` passes, `bad` fails.
    public var good: String
    public var bad: String
    /// The original failure's signature; a step is bad when it fails the same way.
    public var signature: FailureSignature
    /// Boots per step (FlakeRule or `--runs`), and why.
    public var bootsPerStep: Int
    public var bootsReason: String
    /// The run holding the steps' cell results (trigger `bisect:<id>`).
    public var investigationRunID: String
    public var status: Status
    /// Every step in order, confirmation boots included.
    public var steps: [BisectStep]
    /// The first bad commit, once found.
    public var culprit: BisectCommit?
    /// Counts over the whole bisect (resumed parts included).
    public var builds: Int
    public var cachedBuilds: Int
    public var boots: Int
    /// Wall minutes spent (summed over resumed sessions).
    public var minutes: Double
    /// How sure the culprit is (0...1), see ``BisectConfidence``.
    public var confidence: Double?
    /// What a reader should know: which level moved, skipped commits, why it failed.
    public var notes: [String]
    public var started: Date
    public var finished: Date?

    /// Bisection steps (confirmation aside).
    public var stepCount: Int { Set(steps.filter { $0.purpose == .bisect }.map(\.commit)).count }

    /// Whether this bisect answers an investigation of a failure with signature `text`
    /// over commit range `range` (``InvestigationJob/range``: `comp a..b, …`): the same
    /// signature, and the range moves this bisect's component from its good to its bad
    /// commit (ids compared by prefix: a range may name them short).
    public func covers(signature text: String, range: String) -> Bool {
        guard signature.description == text else { return false }
        func same(_ a: Substring, _ b: String) -> Bool { !a.isEmpty && !b.isEmpty && (a.hasPrefix(b) || b.hasPrefix(a)) }
        return range.components(separatedBy: ", ").contains { part in
            guard let space = part.lastIndex(of: " "), let dots = part.range(of: "..", range: space..<part.endIndex) else { return false }
            return part[..<space] == component && same(part[part.index(after: space)..<dots.lowerBound], good)
                && same(part[dots.upperBound...], bad)
        }
    }

    /// `first bad commit: xmhf64 3c6192ea0 "subject" (author, date); 7 steps, 9 builds (3 cached), 11 boots, 14 min; confidence 0.99`.
    public var resultLine: String {
        let cost = "\(stepCount) steps, \(builds + cachedBuilds) builds (\(cachedBuilds) cached), \(boots) boots, \(Int(minutes.rounded())) min"
        switch (status, culprit) {
        case (.finished, let culprit?):
            let confidenceText = confidence.map { String(format: "; confidence %.2f", $0) } ?? ""
            return "first bad commit: \(component) \(culprit.commit.prefix(9)) \"\(culprit.subject)\" (\(culprit.author), \(culprit.date)); \(cost)\(confidenceText)"
        default:
            let why = notes.last.map { ": \($0)" } ?? ""
            return "bisect \(status.rawValue)\(why); \(cost)"
        }
    }
}

/// One boot configuration tried.
public struct BisectStep: Sendable, Codable, Equatable {
    public enum Purpose: String, Sendable, Codable {
        /// Choosing the next half of the range.
        case bisect
        /// Checking a level alone reproduces the failure (several levels moved).
        case level
        /// Booting the culprit and its parents again.
        case confirm
    }

    /// The commit of the bisected component.
    public var commit: String
    public var purpose: Purpose
    /// `good`, `bad`, `skip` (with ``note``).
    public var verdict: String
    /// Outcomes of its boots, in order.
    public var outcomes: [Outcome]
    /// The signature of its first failing boot, if any.
    public var signature: FailureSignature?
    /// Where its boots are: the investigation run and its cell ids (`nestci fetch RUN/CELL`).
    public var runID: String
    public var cellIDs: [String]
    public var note: String?
}

/// A commit, for the result line.
public struct BisectCommit: Sendable, Codable, Equatable {
    public var commit: String
    public var subject: String
    public var author: String
    /// `YYYY-MM-DD`.
    public var date: String
    public var parents: [String]
}

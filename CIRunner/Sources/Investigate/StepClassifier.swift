import Foundation
import Matrix

/// How one investigation step counts, judged from its boots against the original
/// failure's signature (issue #12's table).
public enum StepVerdict: Sendable, Codable, Hashable {
    /// Some boot passed.
    case good
    /// Failed the original way.
    case bad
    /// Failed another way: run the step once more before deciding.
    case weak(FailureSignature)
    /// An INFRA step: run it once more before deciding.
    case retry(String)
    /// Cannot be judged (does not build, failed another way twice, INFRA twice): skipped,
    /// as `git bisect skip` does, with why.
    case skip(String)

    /// `good`, `bad`, `weak`, `retry`, `skip`.
    public var name: String {
        switch self {
        case .good: "good"
        case .bad: "bad"
        case .weak: "weak"
        case .retry: "retry"
        case .skip: "skip"
        }
    }
}

/// Classifies a step. Pure.
public enum StepClassifier {
    /// - Parameters:
    ///   - results: the step's boots (one try of it).
    ///   - original: the signature of the failure investigated.
    ///   - secondTry: true when this is the step's second try (after `weak` or `retry`):
    ///     what would ask for another try is a skip now.
    public static func classify(_ results: [CellResult], original: FailureSignature, secondTry: Bool = false) -> StepVerdict {
        // One pass proves the commit good: the original failure is deterministic on a bad
        // commit, or K was chosen for the flake rate (FlakeRule).
        if results.contains(where: { $0.outcome == .pass || $0.outcome == .flaky }) { return .good }
        let signatures = results.map { $0.signature ?? FailureSignature(result: $0) }
        if signatures.contains(where: { $0 == original }) { return .bad }
        if let build = results.first(where: { $0.outcome == .buildFail }) {
            return .skip("does not build: \(build.reason)")
        }
        if let other = signatures.compactMap({ $0 }).first(where: { $0.outcome == .fail || $0.outcome == .timeout }) {
            return secondTry ? .skip("fails differently, twice: \(other)") : .weak(other)
        }
        let why = results.first(where: { $0.outcome == .infra })?.reason ?? results.first?.reason ?? "no result"
        if results.allSatisfy({ $0.outcome == .skip }), let first = results.first {
            return .skip("not booted: \(first.reason)")
        }
        return secondTry ? .skip("INFRA twice: \(why)") : .retry(why)
    }
}

/// How many boots a step needs so that a flaky cell does not mislead the investigation.
///
/// K = 1 when, in the last 14 runs of its matrix, the cell was never FLAKY and never failed
/// with this signature at commits that another run proved good (passed at the same commits).
/// Otherwise the cell has a flake rate p: a good commit then shows the failure on one boot
/// with probability p, and on all K boots with probability p^K. A step is called bad only
/// when all its boots fail (one pass makes it good), so K is the least with p^K ≤ 0.05:
///
///     K = ⌈ln 0.05 / ln p⌉,  p = (flakes + 1) / (runs + 2)
///
/// p is the rule-of-succession estimate (Laplace): from 14 runs it never says 0 or 1, so a
/// single flake already asks for 2 boots, and a cell that flaked often asks for more. K is
/// capped at 10 (p ≈ 0.74).
public enum FlakeRule {
    /// Runs looked back at.
    public static let window = 14
    /// The chance accepted of calling a good commit bad.
    public static let risk = 0.05
    /// Most boots a step ever gets.
    public static let maxBoots = 10

    /// What the rule says, with why.
    public struct Decision: Sendable, Codable, Hashable {
        public var boots: Int
        /// The flake rate estimated (0 when there was no flake).
        public var flakeRate: Double
        /// Flake events seen in the window.
        public var flakes: Int
        /// Runs in the window.
        public var runs: Int
        public var reason: String
    }

    /// - Parameters:
    ///   - history: the cell's results in the latest runs of its matrix, newest first
    ///     (only the first ``window`` are read).
    ///   - signature: the failure investigated.
    public static func boots(history: [CellResult], signature: FailureSignature) -> Decision {
        let window = Array(history.prefix(Self.window))
        var flakes = 0
        for (index, entry) in window.enumerated() {
            if entry.outcome == .flaky {
                flakes += 1
                continue
            }
            guard entry.outcome.isFailure, (entry.signature ?? FailureSignature(result: entry)) == signature else { continue }
            // Proven good later: a newer run passed at the same commits.
            let provenGood = window[..<index].contains { $0.outcome == .pass && $0.commits == entry.commits }
            if provenGood { flakes += 1 }
        }
        guard flakes > 0 else {
            return Decision(boots: 1, flakeRate: 0, flakes: 0, runs: window.count, reason: "not flaky in the last \(window.count) runs: 1 boot a step")
        }
        let rate = Double(flakes + 1) / Double(window.count + 2)
        let boots = bootsFor(rate: rate)
        return Decision(
            boots: boots, flakeRate: rate, flakes: flakes, runs: window.count,
            reason: "\(flakes) flake(s) in the last \(window.count) runs (rate \(String(format: "%.2f", rate))): \(boots) boots a step for 95 % confidence")
    }

    /// The least K with rate^K ≤ ``risk`` (1...``maxBoots``).
    public static func bootsFor(rate: Double) -> Int {
        guard rate > 0 else { return 1 }
        guard rate < 1 else { return maxBoots }
        return min(maxBoots, max(1, Int((log(risk) / log(rate)).rounded(.up))))
    }
}

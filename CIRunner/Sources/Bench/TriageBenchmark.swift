import Foundation
import Hypervisor
import Matrix

/// `nestci bench triage`: builds and boots -O triage needs to name the culprit flag among F
/// candidates (target ≤ 2⌈log2 F⌉ + 2) and the culprit unit among U (target ≤ 2⌈log2 U⌉ + 2),
/// on the demo hypervisor (Bochs) and the fixture kernels' `mode=vmcs` (qemu-tcg), both of
/// which fail at -O2 through strict aliasing. Real builds and boots.
public enum TriageBenchmark {
    /// One subject's figures.
    public struct Figures: Sendable, CustomStringConvertible {
        public var subject: String
        public var record: TriageRecord

        public var flagCandidates: Int { record.candidates.count }
        public var units: Int { record.units.count }
        /// Steps (a build and a boot each) of the flag search, the whole-set check included.
        public var flagSteps: Int { record.flagTests }
        /// Steps of the unit search, the listing build included.
        public var unitSteps: Int { record.unitTests + 1 }
        public var flagTarget: Int { 2 * log2Ceil(flagCandidates) + 2 }
        public var unitTarget: Int { 2 * log2Ceil(units) + 2 }

        public var description: String {
            let flags = record.minimalFlags?.joined(separator: " ") ?? "none"
            let units = record.minimalUnits?.map(record.name).joined(separator: " ") ?? "none"
            return """
                triage \(subject): \(record.cellID) -\(record.low.rawValue) passes, -\(record.high.rawValue) fails
                  flags: F = \(flagCandidates), culprit \(flags) in \(flagSteps) builds+boots (target \(flagTarget)); ratio \(ratio(flagSteps, flagTarget))
                  units: U = \(self.units), culprit \(units) in \(unitSteps) builds+boots (target \(unitTarget)); ratio \(ratio(unitSteps, unitTarget))\(otherwise)
                  whole triage: \(record.costSentence)
                """
        }

        /// The "passes otherwise" check comes after the culprit is named: one more step, not in the ratio.
        var otherwise: String {
            switch record.passesOtherwise {
            case true?: "; +1 step: passes otherwise"
            case false?: "; +1 step: does NOT pass otherwise"
            case nil: ""
            }
        }

        func ratio(_ used: Int, _ target: Int) -> String { String(format: "%.2f", Double(used) / Double(max(1, target))) }
    }

    static func log2Ceil(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount }

    /// The fixture kernels' vmcs chain at O0/O2, i386, qemu-tcg: the -O2 cell fails through strict aliasing.
    public static let fixtureMatrixText = """
        {
          "name": "fixture-triage",
          "components": {
            "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel"}}
          },
          "chains": {
            "vmcs": {"levels": [{"component": "fixture", "cmdline": "mode=vmcs"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}}
          },
          "axes": {"chain": ["vmcs"], "opt": ["O0", "O2"], "bits": ["i386"], "smp": [1], "backend": ["qemu-tcg"]}
        }
        """

    /// Runs `matrixPath` (only the cells `keep` selects), then triages its first -O-only finding.
    public static func triage(
        matrixPath: String, store: String, keep: (Cell) -> Bool = { _ in true }, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> TriageRecord {
        var plan = try MatrixFile.load(path: matrixPath).plan()
        plan.cells = plan.cells.filter(keep)
        let wanted = Set(plan.cells.map(\.id))
        plan.builds = plan.builds.filter { !wanted.isDisjoint(with: $0.cellIDs) }
        let options = RunOptions(store: store, slots: 2)
        let outcome = try await RunScheduler(options: options).run(plan, matrixPath: matrixPath)
        guard let finding = outcome.findings.first(where: { $0.kind == .optOnly }),
            let failing = finding.verdicts.first(where: { $0.outcome.isFailure })
        else {
            throw RunError(.setup, "no -O-only finding in run \(outcome.results.runID): \(outcome.results.cells.map { "\($0.cellID) \($0.outcome.rawValue)" })")
        }
        let storeHandle = try ArtifactStore.openExisting(root: store)
        return try await Triage.run(TriageRequest(runID: outcome.results.runID, cellID: failing.cellID), store: storeHandle, options: options, progress: progress)
    }

    /// Both subjects, each in a scratch store removed afterwards.
    public static func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> [Figures] {
        var figures: [Figures] = []
        let fixture = try await FixtureMatrix.make(matrix: fixtureMatrixText)
        defer { fixture.remove() }
        figures.append(Figures(subject: "fixture kernels (qemu-tcg)", record: try await triage(matrixPath: fixture.matrix, store: fixture.store, progress: progress)))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-triage-demo-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let matrix = try await DemoProject.locate().materialize(in: folder)
        let demo = try await triage(matrixPath: matrix, store: "\(folder)/store", keep: { $0.values["rev"] == "main" && $0.bits == .i386 && $0.opt != .O3 }, progress: progress)
        figures.append(Figures(subject: "demo hypervisor (Bochs)", record: demo))
        return figures
    }
}

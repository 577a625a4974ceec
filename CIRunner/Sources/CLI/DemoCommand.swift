import Foundation
import Hypervisor
import Matrix

/// `nestci demo`: the main job on the bundled demo hypervisor, on a machine with nothing else.
enum DemoCommand {
    static let spec = CommandSpec(
        name: "demo", summary: "run nestci's main job on the bundled demo hypervisor (minivisor)",
        discussion: """
            Creates a scratch git repository from the bundled demo sources (tag `good`; branch `main`, 13
            commits later, one of which adds an -O2/-O3-only bug in the VMCS link pointer), writes its
            matrix (both revisions × O0/O2/O3 × i386/amd64 under Bochs), runs it, reports what a developer
            would want to see in the morning, then bisects the O2/i386 failure to its commit.
            """,
        options: [
            CommonOptions.store,
            .init("dir", value: "DIR", help: "where to create demo-repo/ and demo.json (default: STORE/demo)"),
            .init("prepare-only", help: "only create the repository and matrix, print the matrix path"),
            .init("no-bisect", help: "do not bisect the regression after the run"),
        ] + RunCommand.spec.options.filter { $0.name != "store" })

    static let entry = CommandEntry(spec) { arguments, console in
        let store = CommonOptions.storePath(arguments)
        let folder = arguments.value("dir").map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "\(store)/demo"
        let matrix = try await DemoProject.locate().materialize(in: folder)
        console.print("demo: repository \(folder)/demo-repo (tag good, branch main), matrix \(matrix)")
        if arguments.flag("prepare-only") { return .success }
        let outcome = try await RunCommand.run(matrixPath: matrix, arguments: arguments, console: console)
        var surprises = surprises(in: outcome)
        if !arguments.flag("no-bisect") {
            surprises += try await bisect(outcome, arguments: arguments, console: console)
        }
        console.print("")
        if surprises.isEmpty {
            console.print("demo: as expected: rev=good passes everywhere; rev=main passes at O0 and fails at O2/O3; the findings name the VMCS link pointer (0x2800)\(arguments.flag("no-bisect") ? "" : "; the bisect names the bug's commit").")
            return try await DemoTriage.run(outcome, store: store, console: console)
        }
        console.print("demo: NOT as expected:")
        surprises.forEach { console.print("  \($0)") }
        return .failure
    }

    /// Bisects the rev=main O2/i386 failure from tag `good`; returns what was not as expected.
    static func bisect(_ outcome: RunOutcome, arguments: ParsedArguments, console: Console) async throws -> [String] {
        guard
            let cell = outcome.results.cells.first(where: {
                $0.values["rev"] == "main" && $0.values["opt"] == "O2" && $0.values["bits"] == "i386" && $0.outcome == .fail
            })
        else { return [] }  // The run's surprises say why.
        console.print("")
        console.print("demo: bisecting \(cell.cellID) (\(cell.levels) rev=main) between tag good and main:")
        let store = CommonOptions.storePath(arguments)
        let options = RunOptions(store: store, trigger: "bisect", builder: try CommonOptions.builderOptions(arguments, spec: spec))
        let request = BisectRequest(runID: outcome.results.runID, cellID: cell.cellID, good: "good", maxSteps: 8)
        let record = try await Bisector.run(request, store: try ArtifactStore(root: store), options: options) { console.print("  \($0)") }
        console.print(record.resultLine)
        return bisectSurprises(record, expectedSubject: try DemoProject.locate().regressionSubject())
    }

    /// The bisect must name the planted bug's commit, in about log2(13) steps.
    static func bisectSurprises(_ record: BisectRecord, expectedSubject: String) -> [String] {
        guard record.status == .finished, let culprit = record.culprit else {
            return ["the bisect did not finish: \(record.resultLine)"]
        }
        var found: [String] = []
        if culprit.subject != expectedSubject { found.append("the bisect named \(culprit.commit.prefix(9)) \"\(culprit.subject)\", not the planted bug \"\(expectedSubject)\"") }
        if record.stepCount > 5 { found.append("the bisect took \(record.stepCount) steps for 13 commits (expected about log2 13 ≈ 4)") }
        return found
    }

    /// What differs from the demo's known outcome (the planted bug shows at -O2/-O3 only).
    /// The demo exits 0 when its failures are exactly the expected ones.
    static func surprises(in outcome: RunOutcome) -> [String] {
        var found: [String] = []
        for cell in outcome.results.cells {
            let buggy = cell.values["rev"] == "main" && cell.values["opt"] != "O0"
            let expected: Outcome = buggy ? .fail : .pass
            if cell.outcome != expected {
                found.append("\(cell.cellID) \(cell.levels) rev=\(cell.values["rev"] ?? "?"): \(cell.outcome.rawValue), expected \(expected.rawValue) (\(cell.reason))")
            }
        }
        let namesLinkPointer = outcome.findings.contains { finding in
            finding.kind == .optOnly && finding.vmcsDiff?.fields.contains { $0.encoding.lowercased() == "0x2800" } == true
        }
        if !namesLinkPointer { found.append("no -O-only finding whose VMCS diff names the link pointer (0x2800)") }
        return found
    }
}

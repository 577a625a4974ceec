import Foundation
import Hypervisor
import Matrix

/// `nestci demo`: the main job on the bundled demo hypervisor, on a machine with nothing else.
enum DemoCommand {
    static let spec = CommandSpec(
        name: "demo", summary: "run nestci's main job on the bundled demo hypervisor (minivisor)",
        discussion: """
            Creates a scratch git repository from the bundled demo sources (tag `good`; branch `main`, one
            commit later, adds an -O2/-O3-only bug in the VMCS link pointer), writes its matrix (both
            revisions × O0/O2/O3 × i386/amd64 under Bochs), runs it, and reports what a developer would
            want to see in the morning.
            """,
        options: [
            CommonOptions.store,
            .init("dir", value: "DIR", help: "where to create demo-repo/ and demo.json (default: STORE/demo)"),
            .init("prepare-only", help: "only create the repository and matrix, print the matrix path"),
        ] + RunCommand.spec.options.filter { $0.name != "store" })

    static let entry = CommandEntry(spec) { arguments, console in
        let store = CommonOptions.storePath(arguments)
        let folder = arguments.value("dir").map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "\(store)/demo"
        let matrix = try await DemoProject.locate().materialize(in: folder)
        console.print("demo: repository \(folder)/demo-repo (tag good, branch main), matrix \(matrix)")
        if arguments.flag("prepare-only") { return .success }
        let outcome = try await RunCommand.run(matrixPath: matrix, arguments: arguments, console: console)
        let surprises = surprises(in: outcome)
        console.print("")
        if surprises.isEmpty {
            console.print("demo: as expected: rev=good passes everywhere; rev=main passes at O0 and fails at O2/O3; the findings name the VMCS link pointer (0x2800).")
            return try await DemoTriage.run(outcome, store: store, console: console)
        }
        console.print("demo: NOT as expected:")
        surprises.forEach { console.print("  \($0)") }
        return .failure
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

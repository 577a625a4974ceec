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
        let results = try await RunCommand.run(matrixPath: matrix, arguments: arguments, console: console)
        return results.allAcceptable ? .success : .failure
    }
}

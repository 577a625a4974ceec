import Foundation
import Hypervisor
import Matrix

/// `nestci plan FILE`: what a matrix expands to, without building or booting anything.
enum PlanCommand {
    static let spec = CommandSpec(
        name: "plan", summary: "show the cells and builds a matrix file expands to",
        discussion: """
            Validates FILE (all errors at once, with JSON paths), expands axes, exclude and include,
            and lists every cell with its stable id and every build key with how many cells share it.
            --pin OUT resolves every (repository, revision) the builds name to a commit now (fetching
            into STORE/mirrors) and writes OUT (atomically), the file `nestci cell run|build|ingest
            --revisions` read: every task of a distributed run then builds these commits, however
            the branches move. A revision that does not resolve is named in a warning and left out;
            the others are still written, and the exit status is then 65.
            """,
        arguments: [.init("FILE", help: "the matrix file (JSON)")],
        options: [
            .init("json", help: "print the plan as JSON for machines"),
            .init("cells", help: "with --json: only the cells, on one line, as {\"include\": [{index, id, backend, chain, levels}]} (a GitHub Actions matrix)"),
            .init("pin", value: "OUT", help: "resolve every revision to a commit now and write OUT for `--revisions` (instead of listing the plan)"),
            CommonOptions.store,
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let matrix = try MatrixFile.load(path: arguments.positionals[0])
        let plan = try matrix.plan()
        if let out = arguments.value("pin") { return try await pin(plan, to: out, store: CommonOptions.storePath(arguments), console: console) }
        if arguments.flag("json"), arguments.flag("cells") {
            console.print(try PlanCells(plan).json())
            return .success
        }
        if arguments.flag("json") {
            console.print(try JSONOutput.encode(await PlanJSON(plan)))
            return .success
        }
        console.print(render(plan))
        return .success
    }

    /// `--pin OUT`: the resolvable revisions written, one line each; 65 when any was not.
    static func pin(_ plan: Plan, to out: String, store: String, console: Console) async throws -> ExitStatus {
        let (pins, failures) = await RevisionPins.resolve(plan, store: store)
        try RevisionPins.write(pins, to: URL(fileURLWithPath: out).standardizedFileURL.path)
        for pin in pins { console.print("pinned \(pin.repository) \(pin.revision) at \(pin.shortCommit)") }
        for failure in failures {
            console.error(
                "nestci: warning: cannot pin \(failure.repository) revision \(failure.revision): \(failure.message); left out of \(out) (fix the matrix's revision or the repository, then pin again)")
        }
        console.print("wrote \(out): \(pins.count) of \(pins.count + failures.count) revisions pinned")
        return failures.isEmpty ? .success : .dataError
    }

    static func render(_ plan: Plan) -> String {
        var lines = ["matrix \(plan.matrix): \(plan.cells.count) cells, \(plan.builds.count) builds"]
        if !plan.dropped.isEmpty {
            let reasons = Dictionary(grouping: plan.dropped, by: \.reason)
            for (reason, cells) in reasons.sorted(by: { $0.key < $1.key }) {
                lines.append("  dropped \(cells.count) cell\(cells.count == 1 ? "" : "s"): \(reason)")
            }
        }
        var cells = TextTable(["cell", "chain", "levels (opt/bits)", "backend", "smp", "other"])
        for cell in plan.cells {
            let builtIn = Set(MatrixFile.builtInAxes)
            let other = cell.values.filter { !builtIn.contains($0.key) }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            cells.add([cell.id, cell.chain, cell.levelSummary, cell.backend.rawValue, String(cell.smp), other])
        }
        var builds = TextTable(["build key", "component", "revision", "opt", "bits", "variables", "cells"])
        for build in plan.builds {
            let variables = build.spec.variables.filter { $0.key != "bits" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            builds.add([build.key, build.spec.component, build.spec.revision, build.spec.opt.rawValue, build.spec.bits.rawValue, variables, String(build.cellIDs.count)])
        }
        return (lines + ["", cells.rendered, "", builds.rendered]).joined(separator: "\n")
    }
}

/// JSON for machines: pretty, sorted keys, stable across runs.
enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `plan --json`: the plan, and for each build the flags it will get on this host,
/// built-in workarounds included.
///
/// Matrix is pure values and cannot run a compiler, so the CLI probes each compiler the
/// builds name (as `run` does) and applies the flag policy here.
struct PlanJSON: Encodable {
    var matrix: String
    var cells: [Cell]
    var builds: [Build]
    var dropped: [Plan.DroppedCell]

    struct Build: Encodable {
        var key: String
        var spec: BuildSpec
        var cellIDs: [String]
        /// `nil` when the compiler cannot be probed here (`toolchainError` says why).
        var effective: EffectiveFlags?
        var toolchain: String?
        var toolchainError: String?
    }

    init(_ plan: Plan, probe: ToolchainProbe = ToolchainProbe()) async {
        matrix = plan.matrix
        cells = plan.cells
        dropped = plan.dropped
        var builds: [Build] = []
        for build in plan.builds {
            var entry = Build(key: build.key, spec: build.spec, cellIDs: build.cellIDs)
            do {
                let toolchain = try await probe.toolchain(for: build.spec.compiler)
                entry.toolchain = toolchain.versionLine
                entry.effective = FlagPolicy.flags(for: build.spec.opt, toolchain: toolchain, extra: build.spec.workarounds)
            } catch {
                entry.toolchainError = "\(error)"
            }
            builds.append(entry)
        }
        self.builds = builds
    }
}

/// `plan --json --cells`: each cell's place in the plan (`nestci cell run --index`), id
/// and backend, compact on one line (a GitHub Actions job output holds one line).
struct PlanCells: Encodable {
    struct Entry: Encodable {
        var index: Int
        var id: String
        var backend: String
        var chain: String
        var levels: String
    }

    var include: [Entry]

    init(_ plan: Plan) {
        include = plan.cells.enumerated().map { Entry(index: $0, id: $1.id, backend: $1.backend.rawValue, chain: $1.chain, levels: $1.levelSummary) }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

import Foundation
import Hypervisor

/// Options shared by the commands that touch the store.
enum CommonOptions {
    static let store = CommandSpec.Option("store", value: "DIR", help: "the artifact store (default: $NESTCI_STORE, else ./nestci-store)")

    /// The store folder the user chose, made absolute.
    static func storePath(_ arguments: ParsedArguments) -> String {
        let chosen = arguments.value("store") ?? ProcessInfo.processInfo.environment["NESTCI_STORE"] ?? "nestci-store"
        let path = URL(fileURLWithPath: chosen).standardizedFileURL.path
        // Every store-using command starts here: end what a dead nestci left running on
        // this store (emulators and builds), and record our own children for the next one.
        ProcessRegistry.shared.attachLedger(store: path)
        return path
    }

    static let buildOptions: [CommandSpec.Option] = [
        .init("only", value: "KEY", repeatable: true, help: "only this build key (from `nestci plan`); repeatable"),
        .init("rebuild", help: "build even what the cache already has"),
        .init("no-workarounds", help: "do not add toolchain workaround flags (shows the raw failure)"),
        .init("keep-worktrees", help: "keep each build's git worktree for debugging"),
        .init("parallel", value: "N", help: "builds at once (default: the number of cores)"),
        revisions,
    ]

    static let revisions = CommandSpec.Option(
        "revisions", value: "FILE",
        help: "build these commits for the revisions they name (a JSON list of {repository, revision, commit}: `nestci plan FILE --pin OUT` writes one, a Slurm run SPOOL/revisions.json)")

    /// The `--revisions FILE` pins (none without the option); a bad file is a usage error.
    static func pinnedRevisions(_ arguments: ParsedArguments, spec: CommandSpec) throws -> [ResolvedRevision] {
        guard let path = arguments.value("revisions") else { return [] }
        do { return try ResolvedRevision.readPins(path: path) } catch let error as SourceError { throw UsageError(error.message, command: spec) }
    }

    static func builderOptions(_ arguments: ParsedArguments, spec: CommandSpec) throws -> BuilderOptions {
        var options = BuilderOptions()
        options.rebuild = arguments.flag("rebuild")
        options.noWorkarounds = arguments.flag("no-workarounds")
        options.keepWorktrees = arguments.flag("keep-worktrees")
        if let parallel = try arguments.int("parallel", in: 1...256, command: spec) { options.maxParallel = parallel }
        options.pinnedRevisions = try pinnedRevisions(arguments, spec: spec)
        return options
    }
}

import Foundation
import Hypervisor
import Matrix

/// `nestci build FILE`: build what a matrix needs, each build key once, reusing the cache.
enum BuildCommand {
    static let spec = CommandSpec(
        name: "build", summary: "build every build key a matrix needs (cached; one build per key)",
        discussion: "Mirrors each repository, resolves each revision once, builds each key in its own git worktree\nwith the toolchain's workaround flags, and keeps outputs and logs under STORE/builds/.\nWith --cache DIR the builds go to a cache shared by cluster tasks instead (`nestci cell run --cache`):\nsafe for concurrent writers on one filesystem, NFS included; a complete build is never replaced.",
        arguments: [.init("FILE", help: "the matrix file (JSON)")],
        options: [CommonOptions.store, CellCommand.cache] + CommonOptions.buildOptions)

    static let entry = CommandEntry(spec) { arguments, console in
        let plan = try MatrixFile.load(path: arguments.positionals[0]).plan()
        let only = Set(arguments.all("only"))
        let unknown = only.subtracting(plan.builds.map(\.key))
        if let first = unknown.sorted().first {
            let hint = DidYouMean.suggestion(for: first, among: plan.builds.map(\.key)).map { " (did you mean \($0)?)" } ?? ""
            throw UsageError("--only \(first): no such build key in this matrix\(hint); `nestci plan \(arguments.positionals[0])` lists them", command: spec)
        }
        let builds = plan.builds.filter { only.isEmpty || only.contains($0.key) }
        var options = try CommonOptions.builderOptions(arguments, spec: spec)
        // --cache: a build cache that cluster tasks share (NFS included), not a store.
        let folder = arguments.value("cache") != nil ? CellCommand.cachePath(arguments) : CommonOptions.storePath(arguments)
        options.sharedCache = arguments.value("cache") != nil
        let builder = Builder(store: URL(fileURLWithPath: folder), options: options)
        console.print("building \(builds.count) key\(builds.count == 1 ? "" : "s") of \(plan.matrix) into \(folder)/builds")
        let records = try await withThrowingTaskGroup(of: (Int, BuildRecord).self) { group in
            for (index, build) in builds.enumerated() {
                group.addTask {
                    let record = try await builder.build(build.spec)
                    console.print("  \(build.key): \(record.status.rawValue)\(record.cacheHit ? " (cached)" : "") in \(String(format: "%.1f", record.durationSeconds)) s")
                    return (index, record)
                }
            }
            var records: [(Int, BuildRecord)] = []
            for try await record in group { records.append(record) }
            return records.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var table = TextTable(["build key", "component", "commit", "opt", "bits", "status", "seconds", "cache"])
        for (build, record) in zip(builds, records) {
            table.add([build.key, record.component, String(record.commit.prefix(12)), record.optFlags, record.bits.rawValue, record.status.rawValue, String(format: "%.1f", record.durationSeconds), record.cacheHit ? "hit" : "built"])
        }
        console.print("")
        console.print(table.rendered)
        for record in records where record.status != .passed {
            console.print("")
            console.print("\(record.specKey) \(record.summary)\(record.cachedNote.map { " (\($0))" } ?? "")")
            record.errorLines.prefix(5).forEach { console.print("  \($0)") }
            if let directory = record.directory { console.print("  log: \(directory.appendingPathComponent(record.logFile).path)") }
        }
        return records.allSatisfy { $0.status == .passed } ? .success : .failure
    }
}

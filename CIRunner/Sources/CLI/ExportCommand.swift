import Foundation
import Hypervisor
import Matrix

/// `nestci export k8s|github-actions FILE`: the same cells as `nestci run`, for an engine
/// a lab already operates; each unit of work is `nestci cell run`, results come back as
/// bundles through `nestci ingest`.
enum ExportCommand {
    static let spec = CommandSpec(
        name: "export", summary: "write a Kubernetes Indexed Job or a GitHub Actions workflow that runs a matrix's cells",
        discussion: """
            nestci export k8s FILE [--slots N] [--image I]: one `kubectl apply` List: a ConfigMap with
            the matrix, a ReadWriteMany claim for the build cache and the bundles, and an Indexed
            Job per backend (pod N runs `nestci cell run FILE --backend B --index N`; exit 1
            fails the index, 75 retries it up to --retries times; qemu-kvm pods get a node
            selector and the /dev/kvm device resource). The commits are pinned at export: every
            revision is resolved now (mirrors in --store) into the ConfigMap's revisions.json, and
            every pod builds those (`--revisions`), not wherever its branch is when it starts;
            --revisions FILE (from `nestci plan --pin`) gives them instead, --unpinned lets each
            pod resolve its own (cells of one run may then build different commits).
            nestci export github-actions FILE: a workflow for self-hosted runners labelled
            <prefix>ingest and <prefix><backend>: a plan job, one job per cell (matrix
            fromJSON of `nestci plan --json --cells`) uploading its bundle, an ingest job. The plan
            job pins the commits (`nestci plan --pin`, artifact nestci-revisions); cells and ingest
            are given them with --revisions.
            Both are JSON, which is YAML: every value from the matrix is a quoted string.
            """,
        arguments: [.init("TARGET", help: "k8s or github-actions"), .init("FILE", help: "the matrix file (JSON)")],
        options: [
            .init("output", value: "FILE", help: "write here (atomically) instead of to standard output"),
            .init("retries", value: "N", help: "retries of an INFRA cell (exit 75) (default 2)"),
            .init("slots", value: "N", help: "k8s: pods at once per backend (default 4)"),
            .init("image", value: "IMAGE", help: "k8s: the image built from nestci's Dockerfile (default nestci:latest)"),
            .init("run-id", value: "ID", help: "k8s: the run id of the bundles (default: a new one)"),
            .init("namespace", value: "NS", help: "k8s: the namespace of every object"),
            .init("kvm-resource", value: "NAME", help: "k8s: the device resource for /dev/kvm (default devices.kubevirt.io/kvm)"),
            .init("kvm-node-selector", value: "KEY=VALUE", help: "k8s: the node label of KVM hosts (default feature.node.kubernetes.io/cpu-cpuid.VMX=true)"),
            .init("storage", value: "SIZE", help: "k8s: size of the shared claim (default 50Gi)"),
            .init("storage-class", value: "CLASS", help: "k8s: its storage class (one offering ReadWriteMany, e.g. NFS)"),
            .init("revisions", value: "FILE", help: "k8s: the commits every pod builds (from `nestci plan --pin`; default: resolved now)"),
            .init("unpinned", help: "k8s: no pins: each pod resolves its revisions itself (cells may build different commits)"),
            CommonOptions.store,
            .init("label-prefix", value: "P", help: "github-actions: runner label prefix (default nestci-)"),
            .init("runner-store", value: "DIR", help: "github-actions: the store on the ingest runner (default /var/lib/nestci/store)"),
            .init("runner-cache", value: "DIR", help: "github-actions: the build cache on cell runners (default /var/cache/nestci)"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let (target, matrixPath) = (arguments.positionals[0], arguments.positionals[1])
        let plan = try MatrixFile.load(path: matrixPath).plan()
        let retries = try arguments.int("retries", in: 0...20, command: spec) ?? 2
        let text: String
        switch target {
        case "k8s", "kubernetes":
            guard let data = FileManager.default.contents(atPath: matrixPath), let matrixText = String(data: data, encoding: .utf8) else {
                throw UserError("cannot read \(matrixPath) as UTF-8 text", status: .dataError)
            }
            let runID = arguments.value("run-id") ?? ArtifactStore.newRunID()
            guard StoreFiles.isSafeComponent(runID) else {
                throw UsageError("--run-id \(runID): use letters, digits, '.', '_' and '-', not starting with '.'", command: spec)
            }
            var export = KubernetesExport(plan: plan, matrixText: matrixText, runID: runID, slots: try arguments.int("slots", in: 1...10_000, command: spec) ?? 4)
            export.retries = retries
            if let image = arguments.value("image") { export.image = image }
            if let namespace = arguments.value("namespace") { export.namespace = namespace }
            if let resource = arguments.value("kvm-resource") { export.kvmResource = resource }
            if let selector = arguments.value("kvm-node-selector") {
                guard let equals = selector.firstIndex(of: "="), equals != selector.startIndex else {
                    throw UsageError("--kvm-node-selector \(selector): give KEY=VALUE", command: spec)
                }
                export.kvmNodeSelector = (String(selector[..<equals]), String(selector[selector.index(after: equals)...]))
            }
            if let storage = arguments.value("storage") { export.storage = storage }
            export.storageClass = arguments.value("storage-class")
            // Pods clone inside the container: a path on this machine means nothing there.
            for repository in Set(plan.builds.map(\.spec.repository)).sorted() where !repository.contains("://") && !repository.hasPrefix("git@") {
                console.error("nestci: warning: repository \(repository) is a local path; pods clone it inside their container, so make it a URL they can reach")
            }
            export.revisions = try await pins(plan, arguments: arguments, console: console)
            text = try export.render()
        case "github-actions", "gha":
            var export = GitHubActionsExport(plan: plan, matrixPath: matrixPath)
            export.retries = retries
            if let prefix = arguments.value("label-prefix") { export.labelPrefix = prefix }
            if let store = arguments.value("runner-store") { export.store = store }
            if let cache = arguments.value("runner-cache") { export.cache = cache }
            if matrixPath.hasPrefix("/") {
                console.error("nestci: warning: \(matrixPath) is absolute; runners check the repository out elsewhere, so give the matrix relative to the repository's root")
            }
            text = try export.render()
        default:
            throw UsageError("unknown export target \"\(target)\" (k8s or github-actions)", command: spec)
        }
        if let output = arguments.value("output") {
            try AtomicFile.write(text, to: URL(fileURLWithPath: output).standardizedFileURL.path)
            console.print("wrote \(output)")
        } else {
            console.write(text)
        }
        return .success
    }

    /// The k8s export's pins: `--revisions FILE`, nil for `--unpinned`, else resolved now.
    static func pins(_ plan: Plan, arguments: ParsedArguments, console: Console) async throws -> [ResolvedRevision]? {
        if arguments.flag("unpinned") {
            guard arguments.value("revisions") == nil else { throw UsageError("--revisions and --unpinned: give one of them", command: spec) }
            console.error("nestci: warning: --unpinned: each pod resolves its revisions when it starts, so cells of this run may build different commits if a branch moves")
            return nil
        }
        if let path = arguments.value("revisions") {
            let pins = try CommonOptions.pinnedRevisions(arguments, spec: spec)
            let given = Set(pins.map(RevisionPins.Key.init))
            for missing in RevisionPins.keys(of: plan) where !given.contains(missing) {
                console.error("nestci: warning: --revisions \(path) has no commit for \(missing.repository) revision \(missing.revision); its pods resolve it themselves")
            }
            return pins
        }
        let (pins, failures) = await RevisionPins.resolve(plan, store: CommonOptions.storePath(arguments))
        guard failures.isEmpty else {
            let named = failures.map { "\($0.repository) revision \($0.revision): \($0.message)" }.joined(separator: "; ")
            throw UserError(
                "cannot pin the commits the pods build: \(named). Fix the matrix or the repository, or give the commits with --revisions FILE (from `nestci plan --pin`), or pass --unpinned to let each pod resolve its revisions (cells of one run may then build different commits)",
                status: .dataError)
        }
        return pins
    }
}

import Foundation
import Matrix

/// `nestci export github-actions`: a workflow for self-hosted runners. A `plan` job runs
/// `nestci plan MATRIX --json --cells`; the `cell` job's matrix is `fromJSON` of that, one
/// job per cell on a runner labelled for its backend (`nestci-qemu-kvm`, …), running
/// `nestci cell run` (again while it exits 75, INFRA) and uploading its bundle as an
/// artifact; the `ingest` job downloads every bundle and runs `nestci ingest --finish`.
/// The plan job also pins the commits (`nestci plan --pin`) into an artifact that every cell
/// and the ingest get with `--revisions`: cells of one run build the same commits however
/// the branches move while it runs, and ingest refuses a bundle of another commit.
///
/// Values from the matrix reach the shell only through `env:`, never inside a `run:`
/// script (where `${{ }}` would be pasted in as code).
public struct GitHubActionsExport: Sendable {
    public var plan: Plan
    /// The matrix file as the runners see it: relative to the repository's root.
    public var matrixPath: String
    /// Runner labels: `<prefix><backend>` for cells, `<prefix>ingest` for plan and ingest.
    public var labelPrefix = "nestci-"
    /// The store on the ingest runner, and the build cache on the cell runners.
    public var store = "/var/lib/nestci/store"
    public var cache = "/var/cache/nestci"
    /// Runs of a cell that exits 75 (INFRA) after the first.
    public var retries = 2

    /// GitHub's limit on the jobs one matrix makes.
    public static let maxCells = 256
    /// The pins file in each job's workspace, and the artifact that carries it.
    static let revisionsFile = "revisions.json"
    static let revisionsArtifact = "nestci-revisions"

    public init(plan: Plan, matrixPath: String) {
        self.plan = plan
        self.matrixPath = matrixPath
    }

    public func render() throws -> String {
        guard plan.cells.count <= Self.maxCells else {
            throw UserError(
                "matrix \(plan.matrix) has \(plan.cells.count) cells, and a GitHub Actions matrix makes at most \(Self.maxCells) jobs; split the matrix, or use Slurm or Kubernetes (nestci export k8s)",
                status: .dataError)
        }
        let checkout: ManifestNode = .object([("uses", "actions/checkout@v4")])
        let ingestRunner: ManifestNode = ["self-hosted", .string("\(labelPrefix)ingest")]
        let planJob: ManifestNode = .object([
            ("runs-on", ingestRunner),
            ("outputs", .object([("cells", "${{ steps.plan.outputs.cells }}"), ("run-id", "${{ steps.plan.outputs.run-id }}")])),
            ("steps", [
                checkout,
                .object([
                    ("id", "plan"), ("name", "nestci plan"), ("shell", "bash"),
                    // The run id starts with the UTC time, as nestci's own ids do: runs sort by
                    // id, and findings compare a run with the one before it.
                    ("run", .string(#"""
                        cells=$(nestci plan "$NESTCI_MATRIX" --json --cells)
                        echo "cells=$cells" >> "$GITHUB_OUTPUT"
                        echo "run-id=$(date -u +%Y%m%d-%H%M%S)-gha$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT" >> "$GITHUB_OUTPUT"
                        """#)),
                ]),
                // Once, here: a revision that does not resolve fails the plan (exit 65, named).
                .object([
                    ("name", "nestci plan --pin"), ("shell", "bash"),
                    ("run", #"nestci plan "$NESTCI_MATRIX" --pin "$NESTCI_REVISIONS" --store "$NESTCI_STORE""#),
                ]),
                .object([
                    ("name", "upload the pins"), ("uses", "actions/upload-artifact@v4"),
                    ("with", .object([("name", .string(Self.revisionsArtifact)), ("path", .string(Self.revisionsFile)), ("if-no-files-found", "error")])),
                ]),
            ]),
        ])
        let downloadPins: ManifestNode = .object([
            ("name", "download the pins"), ("uses", "actions/download-artifact@v4"), ("with", .object([("name", .string(Self.revisionsArtifact))])),
        ])
        let cellScript = """
            status=75
            attempt=0
            while [ "$status" -eq 75 ] && [ "$attempt" -le \(retries) ]; do
              attempt=$((attempt + 1))
              status=0
              nestci cell run "$NESTCI_MATRIX" --cell "$NESTCI_CELL" --out bundles --cache "$NESTCI_CACHE" --run-id "$NESTCI_RUN_ID" --revisions "$NESTCI_REVISIONS" || status=$?
            done
            exit "$status"
            """
        let runID: ManifestNode = .object([("NESTCI_RUN_ID", "${{ needs.plan.outputs.run-id }}")])
        let cellJob: ManifestNode = .object([
            ("needs", "plan"),
            ("env", runID),
            ("name", "${{ matrix.chain }} ${{ matrix.levels }} ${{ matrix.backend }} (${{ matrix.id }})"),
            ("runs-on", ["self-hosted", .string("\(labelPrefix)${{ matrix.backend }}")]),
            ("strategy", .object([("fail-fast", false), ("matrix", "${{ fromJSON(needs.plan.outputs.cells) }}")])),
            ("steps", [
                checkout,
                downloadPins,
                .object([
                    ("name", "nestci cell run"), ("shell", "bash"), ("env", .object([("NESTCI_CELL", "${{ matrix.id }}")])),
                    ("run", .string(cellScript)),
                ]),
                .object([
                    ("name", "upload the bundle"), ("if", "always()"), ("uses", "actions/upload-artifact@v4"),
                    ("with", .object([
                        ("name", "bundle-${{ matrix.id }}"), ("path", "bundles/${{ matrix.id }}"), ("if-no-files-found", "error"),
                    ])),
                ]),
            ]),
        ])
        let ingestJob: ManifestNode = .object([
            ("needs", ["plan", "cell"]),
            // After failed cells too: their bundles are the evidence.
            ("if", "${{ always() && needs.plan.result == 'success' }}"),
            ("runs-on", ingestRunner),
            ("env", runID),
            ("steps", [
                checkout,
                downloadPins,
                .object([("uses", "actions/download-artifact@v4"), ("with", .object([("pattern", "bundle-*"), ("path", "bundles")]))]),
                .object([
                    ("name", "nestci ingest"), ("shell", "bash"),
                    ("run", #"nestci ingest bundles/*/ --matrix "$NESTCI_MATRIX" --run-id "$NESTCI_RUN_ID" --revisions "$NESTCI_REVISIONS" --store "$NESTCI_STORE" --finish"#),
                ]),
            ]),
        ])
        let workflow: ManifestNode = .object([
            ("name", .string("nestci \(plan.matrix)")),
            ("on", .object([("workflow_dispatch", .object([]))])),
            ("env", .object([
                ("NESTCI_MATRIX", .string(matrixPath)),
                ("NESTCI_CACHE", .string(cache)), ("NESTCI_STORE", .string(store)), ("NESTCI_REVISIONS", .string(Self.revisionsFile)),
            ])),
            ("jobs", .object([("plan", planJob), ("cell", cellJob), ("ingest", ingestJob)])),
        ])
        return workflow.document(comments: [
            "Generated by `nestci export github-actions` (nestci \(NestCI.version)) from matrix \(plan.matrix) (\(plan.cells.count) cells).",
            "Self-hosted runners: labels \(labelPrefix)ingest (plan, ingest: holds the store) and one per backend: "
                + Set(plan.cells.map(\.backend)).map { "\(labelPrefix)\($0.rawValue)" }.sorted().joined(separator: ", ") + "; nestci on PATH.",
            "JSON is YAML: this file is both.",
        ])
    }
}

import Foundation
import Matrix
import Testing

@testable import CIRunner

/// `nestci export k8s` and `nestci export github-actions`, read back. Both emit JSON, which
/// is YAML: so Foundation's JSON parser reads exactly what `kubectl` and GitHub will, and
/// a document that parses proves every value is a quoted JSON string (a hand-written
/// reader of a YAML subset would only test itself).
@Suite("nestci export: Kubernetes Indexed Jobs and GitHub Actions workflows, parsed back")
struct ExportTests {
    /// A description and a command line full of what breaks hand-made YAML.
    static let hostile = #"a \"quoted\" value: with # a comment, {braces}, [brackets], 'single', ${{ github.token }}, a tab\t, and a\nnewline"#

    static let matrixText = """
        {
          "name": "export-test",
          "description": "\(hostile)",
          "components": {
            "fixture": {"kind": "guest", "repository": "https://example.invalid/kernels.git", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel", "cmdline": "mode=pass note=\\"x: #y\\""}}
          },
          "chains": {
            "pass": {"levels": [{"component": "fixture"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}}
          },
          "axes": {"chain": ["pass"], "opt": ["O0", "O2"], "bits": ["i386", "amd64"], "backend": ["qemu-kvm", "qemu-tcg", "bochs"]}
        }
        """

    /// A matrix file in a fresh folder whose path holds spaces and quotes.
    static func matrixFile(_ text: String = matrixText) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-export \"x\" #\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/matrix: it.json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The generated text as the objects a YAML reader sees: `#` lines are comments.
    static func parse(_ text: String) throws -> [String: Any] {
        let body = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    static func export(_ arguments: [String]) async throws -> (status: Int32, text: String, err: String) {
        let (console, output) = Console.capturing()
        let status = await NestCI.main(["export"] + arguments, console: console)
        return (status, output.out, output.err)
    }

    @Test("k8s: ConfigMap with the matrix byte for byte, a ReadWriteMany claim, one Indexed Job per backend with the failure policy; KVM pods get a node and /dev/kvm")
    func kubernetes() async throws {
        let matrix = try Self.matrixFile()
        // (Unpinned: example.invalid does not resolve; RevisionPinTests pins a real repository.)
        let (status, text, err) = try await Self.export(["k8s", matrix, "--slots", "3", "--image", "registry.example/nestci:1", "--run-id", "nightly-1", "--retries", "4", "--unpinned"])
        #expect(status == 0, "\(err)")
        let list = try Self.parse(text)
        #expect(list["kind"] as? String == "List")
        let items = try #require(list["items"] as? [[String: Any]])
        #expect(items.map { $0["kind"] as? String } == ["ConfigMap", "PersistentVolumeClaim", "Job", "Job", "Job"])
        let configMap = items[0]
        let data = try #require(configMap["data"] as? [String: String])
        #expect(data["matrix.json"] == (try String(contentsOfFile: matrix, encoding: .utf8)), "the matrix, so its digest is the ingest's")
        let configMapName = try #require((configMap["metadata"] as? [String: Any])?["name"] as? String)
        let claim = items[1]
        let claimName = try #require((claim["metadata"] as? [String: Any])?["name"] as? String)
        #expect((claim["spec"] as? [String: Any])?["accessModes"] as? [String] == ["ReadWriteMany"])

        let plan = try MatrixFile.load(path: matrix).plan()
        for job in items[2...] {
            let metadata = try #require(job["metadata"] as? [String: Any])
            #expect((metadata["annotations"] as? [String: String])?["nestci.dev/run-id"] == "nightly-1")
            let spec = try #require(job["spec"] as? [String: Any])
            let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            let env = Dictionary(uniqueKeysWithValues: try #require(container["env"] as? [[String: String]]).map { ($0["name"]!, $0["value"]!) })
            let backend = try #require(Backend(rawValue: env["NESTCI_BACKEND"] ?? ""))
            let cells = plan.cells.filter { $0.backend == backend }.count
            #expect(cells == 4)
            #expect(spec["completionMode"] as? String == "Indexed")
            #expect(spec["completions"] as? Int == cells && spec["parallelism"] as? Int == 3)
            #expect(spec["backoffLimitPerIndex"] as? Int == 4)
            #expect(pod["restartPolicy"] as? String == "Never")
            let rules = try #require((spec["podFailurePolicy"] as? [String: Any])?["rules"] as? [[String: Any]])
            func codes(_ action: String) -> [Int] {
                rules.filter { $0["action"] as? String == action }.compactMap { ($0["onExitCodes"] as? [String: Any])?["values"] as? [Int] }.flatMap { $0 }
            }
            #expect(codes("FailIndex").contains(1) && !codes("FailIndex").contains(75), "a real FAIL is not retried")
            #expect(codes("Count") == [75], "INFRA is retried, counted against backoffLimitPerIndex")
            #expect(rules.contains { $0["action"] as? String == "Ignore" && ($0["onPodConditions"] as? [[String: String]])?.first?["type"] == "DisruptionTarget" })
            for rule in rules where rule["onExitCodes"] != nil {
                #expect((rule["onExitCodes"] as? [String: Any])?["containerName"] as? String == container["name"] as? String)
            }
            #expect(container["image"] as? String == "registry.example/nestci:1")
            let command = try #require(container["command"] as? [String])
            #expect(command.last?.contains(#"nestci cell run "$NESTCI_MATRIX" --backend "$NESTCI_BACKEND" --index "$JOB_COMPLETION_INDEX""#) == true)
            #expect(env["NESTCI_RUN_ID"] == "nightly-1" && env["NESTCI_OUT"] == "/spool/runs/nightly-1/bundles" && env["NESTCI_CACHE"] == "/spool/cache")
            let volumes = try #require(pod["volumes"] as? [[String: Any]])
            #expect(volumes.contains { ($0["persistentVolumeClaim"] as? [String: String])?["claimName"] == claimName })
            #expect(volumes.contains { ($0["configMap"] as? [String: String])?["name"] == configMapName })
            let limits = (container["resources"] as? [String: Any])?["limits"] as? [String: String]
            if backend == .qemuKVM {
                #expect((pod["nodeSelector"] as? [String: String])?["feature.node.kubernetes.io/cpu-cpuid.VMX"] == "true")
                #expect(limits?["devices.kubevirt.io/kvm"] == "1")
            } else {
                #expect(pod["nodeSelector"] == nil && limits == nil, "only KVM cells are tied to KVM nodes")
            }
        }

        // The KVM resource and node label are configurable.
        let custom = try await Self.export(["k8s", matrix, "--kvm-resource", "example.com/kvm", "--kvm-node-selector", "lab/vmx=yes", "--unpinned"])
        #expect(custom.text.contains(#""example.com/kvm": "1""#) && custom.text.contains(#""lab/vmx": "yes""#))
        #expect(try await Self.export(["k8s", matrix, "--kvm-node-selector", "novalue"]).status == 64)
    }

    @Test("github-actions: a plan job, cells from fromJSON of `nestci plan --json --cells` on per-backend runners uploading bundles, an ingest job; matrix values only through env")
    func githubActions() async throws {
        let matrix = try Self.matrixFile()
        let (status, text, err) = try await Self.export(["github-actions", matrix, "--label-prefix", "lab-"])
        #expect(status == 0, "\(err)")
        let workflow = try Self.parse(text)
        #expect((workflow["env"] as? [String: String])?["NESTCI_MATRIX"] == matrix, "the path, quoted, as it was")
        let jobs = try #require(workflow["jobs"] as? [String: [String: Any]])
        let plan = try #require(jobs["plan"])
        let cell = try #require(jobs["cell"])
        let ingest = try #require(jobs["ingest"])
        func steps(_ job: [String: Any]) -> [[String: Any]] { job["steps"] as? [[String: Any]] ?? [] }
        func runs(_ job: [String: Any]) -> [String] { steps(job).compactMap { $0["run"] as? String } }
        // (An assignment first: under bash -e a failing plan fails the job, inside echo it would not.)
        #expect(runs(plan).contains { $0.contains(#"cells=$(nestci plan "$NESTCI_MATRIX" --json --cells)"#) && $0.contains(#"echo "cells=$cells" >> "$GITHUB_OUTPUT""#) })
        #expect((plan["outputs"] as? [String: String])?["cells"] == "${{ steps.plan.outputs.cells }}")
        // One run id for every job, time first so runs sort by it.
        #expect(runs(plan).contains { $0.contains(#"run-id=$(date -u +%Y%m%d-%H%M%S)-gha"#) })
        for job in [cell, ingest] { #expect((job["env"] as? [String: String])?["NESTCI_RUN_ID"] == "${{ needs.plan.outputs.run-id }}") }
        let strategy = try #require(cell["strategy"] as? [String: Any])
        #expect(strategy["matrix"] as? String == "${{ fromJSON(needs.plan.outputs.cells) }}")
        #expect(strategy["fail-fast"] as? Bool == false)
        #expect(cell["runs-on"] as? [String] == ["self-hosted", "lab-${{ matrix.backend }}"])
        #expect(runs(cell).contains { $0.contains(#"nestci cell run "$NESTCI_MATRIX" --cell "$NESTCI_CELL""#) && $0.contains("-eq 75") })
        let upload = try #require(steps(cell).first { ($0["uses"] as? String)?.hasPrefix("actions/upload-artifact") == true })
        #expect(upload["if"] as? String == "always()")
        #expect((upload["with"] as? [String: String])?["path"] == "bundles/${{ matrix.id }}")
        #expect(ingest["needs"] as? [String] == ["plan", "cell"])
        #expect((ingest["if"] as? String)?.contains("always()") == true)
        #expect(ingest["runs-on"] as? [String] == ["self-hosted", "lab-ingest"])
        #expect(steps(ingest).contains { ($0["uses"] as? String)?.hasPrefix("actions/download-artifact") == true })
        #expect(runs(ingest).contains { $0.contains("nestci ingest bundles/*/") && $0.contains("--finish") })
        // No expression is pasted into a script: values reach the shell through env.
        for job in [plan, cell, ingest] {
            for script in runs(job) { #expect(!script.contains("${{"), "\(script)") }
        }

        // What the plan job will output: the matrix's include list, in plan order, on one line.
        let (console, output) = Console.capturing()
        #expect(await NestCI.main(["plan", matrix, "--json", "--cells"], console: console) == 0)
        let line = output.out.trimmingCharacters(in: .newlines)
        #expect(!line.contains("\n"))
        let cells = try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [[String: Any]]])?["include"])
        let expected = try MatrixFile.load(path: matrix).plan().cells
        #expect(cells.compactMap { $0["id"] as? String } == expected.map(\.id))
        #expect(cells.compactMap { $0["index"] as? Int } == Array(expected.indices))
        #expect(Set(cells.compactMap { $0["backend"] as? String }) == ["qemu-kvm", "qemu-tcg", "bochs"])
    }

    @Test("a matrix past GitHub's 256 jobs is refused with what to do; an unknown target is a usage error")
    func limits() async throws {
        let many = Self.matrixText.replacingOccurrences(of: #""opt": ["O0", "O2"]"#, with: #""opt": ["O0", "O1", "O2", "O3", "Os", "Og"]"#)
            .replacingOccurrences(of: #""chain": ["pass"]"#, with: #""chain": ["pass"], "rev": [\#((1...15).map { "\"r\($0)\"" }.joined(separator: ", "))]"#)
        let matrix = try Self.matrixFile(many)
        #expect(try MatrixFile.load(path: matrix).plan().cells.count > GitHubActionsExport.maxCells)
        let refused = try await Self.export(["github-actions", matrix])
        #expect(refused.status == 65 && refused.err.contains("at most 256 jobs") && refused.err.contains("nestci export k8s"), "\(refused.err)")
        #expect(try await Self.export(["nomad", matrix]).status == 64)
    }

    @Test("cell run --backend B --index N is the Nth cell of backend B, as a per-backend Job counts")
    func backendIndex() throws {
        let matrix = try Self.matrixFile()
        let plan = try MatrixFile.load(path: matrix).plan()
        let bochs = plan.cells.indices.filter { plan.cells[$0].backend == .bochs }
        for (n, index) in bochs.enumerated() {
            let parsed = try CellCommand.spec.parse(["run", matrix, "--backend", "bochs", "--index", "\(n)", "--out", "x"])
            #expect(try CellCommand.cellIndex(plan, arguments: parsed, matrixPath: matrix) == index)
        }
        let past = try CellCommand.spec.parse(["run", matrix, "--backend", "bochs", "--index", "\(bochs.count)", "--out", "x"])
        #expect(throws: UsageError.self) { try CellCommand.cellIndex(plan, arguments: past, matrixPath: matrix) }
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Pins for the runs whose cells nestci does not start itself: `nestci plan --pin`, the k8s
/// ConfigMap's `revisions.json`, the GitHub Actions pins artifact. A branch that moves after
/// the pins were made must not change what any cell builds. Real git repositories.
@Suite("Revision pins: nestci plan --pin, k8s and GitHub Actions exports, ingest --revisions")
struct RevisionPinTests {
    static let git = "git -c user.name=t -c user.email=t@t -c commit.gpgsign=false"

    /// The fixture repository with a one-cell matrix (pass, O0, i386, qemu-tcg) beside it;
    /// `revision` replaces the matrix's `main` (with an axis `rev` when it is a template).
    static func fixture(revision: String = "main", revs: [String] = []) async throws -> FixtureMatrix {
        var text = SlurmTestCluster.matrix(chains: ["pass"]).replacingOccurrences(of: #""revision": "main""#, with: #""revision": "\#(revision)""#)
        if !revs.isEmpty {
            text = text.replacingOccurrences(of: #""axes": {"#, with: #""axes": {"rev": [\#(revs.map { "\"\($0)\"" }.joined(separator: ", "))], "#)
        }
        return try await FixtureMatrix.make(matrix: text)
    }

    static func head(_ fixture: FixtureMatrix) async throws -> String {
        try await SupervisedProcess.run(.shell("git rev-parse HEAD", workingDirectory: "\(fixture.folder)/kernels", timeout: .seconds(20))).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Moves `main` on by one commit; returns the new head.
    static func moveMain(_ fixture: FixtureMatrix) async throws -> String {
        let moved = try await SupervisedProcess.run(
            .shell("echo '/* moved */' >> fixture.c && \(git) commit -q -am 'move main'", workingDirectory: "\(fixture.folder)/kernels", timeout: .seconds(20)))
        try #require(moved.succeeded, "\(moved.output)")
        return try await head(fixture)
    }

    static func nestci(_ arguments: [String]) async -> (status: Int32, out: String, err: String) {
        let (console, output) = Console.capturing()
        let status = await NestCI.main(arguments, console: console)
        return (status, output.out, output.err)
    }

    @Test("nestci plan --pin writes the branch's commit now; after the branch moves the file still names that commit")
    func planPin() async throws {
        let fixture = try await Self.fixture()
        defer { fixture.remove() }
        let head = try await Self.head(fixture)
        let pinsFile = "\(fixture.folder)/pins/revisions.json"
        let pinned = await Self.nestci(["plan", fixture.matrix, "--pin", pinsFile, "--store", fixture.store])
        #expect(pinned.status == 0, "\(pinned.err)")
        let repository = try MatrixFile.load(path: fixture.matrix).plan().builds[0].spec.repository
        #expect(pinned.out.contains("pinned \(repository) main at \(head.prefix(12))"), "\(pinned.out)")
        #expect(try ResolvedRevision.readPins(path: pinsFile) == [ResolvedRevision(repository: repository, revision: "main", commit: head)])

        let moved = try await Self.moveMain(fixture)
        #expect(moved != head)
        #expect(try ResolvedRevision.readPins(path: pinsFile).map(\.commit) == [head], "the pins are fixed when written")
        // Pinning again fetches: the new file names the moved branch.
        let again = await Self.nestci(["plan", fixture.matrix, "--pin", "\(fixture.folder)/again.json", "--store", fixture.store])
        #expect(again.status == 0, "\(again.err)")
        #expect(try ResolvedRevision.readPins(path: "\(fixture.folder)/again.json").map(\.commit) == [moved])
    }

    @Test("nestci plan --pin with a revision that does not resolve: the others written, a warning naming it, exit 65")
    func planPinPartial() async throws {
        let fixture = try await Self.fixture(revision: "{rev}", revs: ["main", "no-such-branch"])
        defer { fixture.remove() }
        let head = try await Self.head(fixture)
        let pinsFile = "\(fixture.folder)/revisions.json"
        let result = await Self.nestci(["plan", fixture.matrix, "--pin", pinsFile, "--store", fixture.store])
        #expect(result.status == 65, "\(result.out)\(result.err)")
        #expect(result.err.contains("cannot pin") && result.err.contains("revision no-such-branch") && result.err.contains("\(fixture.folder)/kernels"), "\(result.err)")
        let pins = try ResolvedRevision.readPins(path: pinsFile)
        #expect(pins.map(\.revision) == ["main"] && pins.map(\.commit) == [head])
    }

    @Test("k8s: the ConfigMap holds revisions.json with the branch's commit at export; pods pass it with --revisions; --revisions FILE and --unpinned")
    func kubernetesPinned() async throws {
        let fixture = try await Self.fixture()
        defer { fixture.remove() }
        let head = try await Self.head(fixture)
        let exported = await Self.nestci(["export", "k8s", fixture.matrix, "--store", fixture.store, "--run-id", "pinned-1"])
        #expect(exported.status == 0, "\(exported.err)")
        #expect(exported.out.contains("--revisions REVISIONS --finish"), "the ingest line in the header")
        let items = try #require(try ExportTests.parse(exported.out)["items"] as? [[String: Any]])
        let data = try #require(items.first { $0["kind"] as? String == "ConfigMap" }?["data"] as? [String: String])
        let pins = try JSONDecoder().decode([ResolvedRevision].self, from: Data(try #require(data["revisions.json"]).utf8))
        #expect(pins.map(\.commit) == [head] && pins.map(\.revision) == ["main"])
        let jobs = items.filter { $0["kind"] as? String == "Job" }
        #expect(jobs.count == 1)
        for job in jobs {
            let pod = try #require(((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            let env = Dictionary(uniqueKeysWithValues: try #require(container["env"] as? [[String: String]]).map { ($0["name"]!, $0["value"]!) })
            #expect(env["NESTCI_REVISIONS"] == "/etc/nestci/revisions.json")
            let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
            #expect(mounts.contains { $0["mountPath"] as? String == "/etc/nestci" && $0["name"] as? String == "matrix" }, "the ConfigMap, keys as files")
            let command = try #require((container["command"] as? [String])?.last)
            #expect(command.contains(#"nestci cell run "$NESTCI_MATRIX""#) && command.hasSuffix(#"--revisions "$NESTCI_REVISIONS""#), "\(command)")
        }

        // Pins given: kept as they are, whatever the branch is now.
        let pinsFile = "\(fixture.folder)/revisions.json"
        #expect(await Self.nestci(["plan", fixture.matrix, "--pin", pinsFile, "--store", fixture.store]).status == 0)
        _ = try await Self.moveMain(fixture)
        let given = await Self.nestci(["export", "k8s", fixture.matrix, "--revisions", pinsFile, "--store", fixture.store])
        #expect(given.status == 0, "\(given.err)")
        let givenItems = try #require(try ExportTests.parse(given.out)["items"] as? [[String: Any]])
        let givenData = try #require(givenItems.first { $0["kind"] as? String == "ConfigMap" }?["data"] as? [String: String])
        #expect(try JSONDecoder().decode([ResolvedRevision].self, from: Data((givenData["revisions.json"] ?? "").utf8)).map(\.commit) == [head])

        // Unpinned: no pins in the ConfigMap, the pods resolve, and a warning says what that risks.
        let unpinned = await Self.nestci(["export", "k8s", fixture.matrix, "--unpinned"])
        #expect(unpinned.status == 0, "\(unpinned.err)")
        #expect(unpinned.err.contains("--unpinned") && unpinned.err.contains("different commits"), "\(unpinned.err)")
        let unpinnedItems = try #require(try ExportTests.parse(unpinned.out)["items"] as? [[String: Any]])
        #expect((unpinnedItems[0]["data"] as? [String: String])?["revisions.json"] == nil)
        #expect(!unpinned.out.contains("--revisions"))
        #expect(await Self.nestci(["export", "k8s", fixture.matrix, "--unpinned", "--revisions", pinsFile]).status == 64)
    }

    @Test("k8s: a revision that does not resolve at export fails with its repository and revision, and what to do")
    func kubernetesUnresolvable() async throws {
        let fixture = try await Self.fixture(revision: "no-such-branch")
        defer { fixture.remove() }
        let exported = await Self.nestci(["export", "k8s", fixture.matrix, "--store", fixture.store])
        #expect(exported.status == 65)
        #expect(exported.out.isEmpty, "no half document")
        #expect(exported.err.contains("\(fixture.folder)/kernels revision no-such-branch"), "\(exported.err)")
        #expect(exported.err.contains("--revisions FILE") && exported.err.contains("--unpinned"), "\(exported.err)")
    }

    @Test("github-actions: the plan job pins and uploads the pins; cell and ingest jobs download them and pass --revisions")
    func githubActionsPinned() async throws {
        let matrix = try ExportTests.matrixFile()
        let exported = await Self.nestci(["export", "github-actions", matrix])
        #expect(exported.status == 0, "\(exported.err)")
        let workflow = try ExportTests.parse(exported.out)
        #expect((workflow["env"] as? [String: String])?["NESTCI_REVISIONS"] == "revisions.json")
        let jobs = try #require(workflow["jobs"] as? [String: [String: Any]])
        func steps(_ name: String) -> [[String: Any]] { jobs[name]?["steps"] as? [[String: Any]] ?? [] }
        func index(_ name: String, _ matches: ([String: Any]) -> Bool) -> Int? { steps(name).firstIndex(where: matches) }
        func uses(_ prefix: String) -> ([String: Any]) -> Bool { { ($0["uses"] as? String)?.hasPrefix(prefix) == true } }

        let pin = try #require(index("plan") { ($0["run"] as? String)?.contains(#"nestci plan "$NESTCI_MATRIX" --pin "$NESTCI_REVISIONS" --store "$NESTCI_STORE""#) == true })
        let upload = try #require(index("plan") { uses("actions/upload-artifact")($0) && ($0["with"] as? [String: String])?["name"] == "nestci-revisions" })
        #expect(pin < upload)
        #expect((steps("plan")[upload]["with"] as? [String: String])?["path"] == "revisions.json")
        for job in ["cell", "ingest"] {
            let download = try #require(index(job) { uses("actions/download-artifact")($0) && ($0["with"] as? [String: String])?["name"] == "nestci-revisions" }, "\(job)")
            let command = job == "cell" ? "nestci cell run" : "nestci ingest"
            let run = try #require(index(job) { ($0["run"] as? String)?.contains(command) == true }, "\(job)")
            #expect(download < run)
            #expect((steps(job)[run]["run"] as? String)?.contains(#"--revisions "$NESTCI_REVISIONS""#) == true, "\(job)")
        }
        for job in jobs.values {
            for script in (job["steps"] as? [[String: Any]] ?? []).compactMap({ $0["run"] as? String }) { #expect(!script.contains("${{"), "\(script)") }
        }
    }
}

extension RealBootSuite {
    @Suite("Revision pins, built and booted: cell run --revisions, ingest --revisions", .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
    struct RevisionPinBootTests {
        static func commits(_ bundle: String) throws -> [String: String] {
            let data = try #require(FileManager.default.contents(atPath: "\(bundle)/\(RunLayout.resultFile)"))
            return try BuildCache.decoder.decode(CellResult.self, from: data).commits
        }

        @Test("after the branch moved, cell run --revisions builds the pinned commit; ingest --revisions refuses a bundle of the moved one")
        func cellRunAndIngest() async throws {
            let fixture = try await RevisionPinTests.fixture()
            defer { fixture.remove() }
            let head = try await RevisionPinTests.head(fixture)
            let pinsFile = "\(fixture.folder)/revisions.json"
            #expect(await RevisionPinTests.nestci(["plan", fixture.matrix, "--pin", pinsFile, "--store", fixture.store]).status == 0)
            let moved = try await RevisionPinTests.moveMain(fixture)
            let cellID = try MatrixFile.load(path: fixture.matrix).plan().cells[0].id
            let cache = "\(fixture.folder)/cache"
            func cellRun(_ out: String, pinned: Bool) async throws -> String {
                let result = await RevisionPinTests.nestci(
                    ["cell", "run", fixture.matrix, "--index", "0", "--out", out, "--cache", cache, "--run-id", "pins"] + (pinned ? ["--revisions", pinsFile] : []))
                #expect(result.status == 0, "\(result.out)\(result.err)")
                return "\(out)/\(cellID)"
            }
            let pinnedBundle = try await cellRun("\(fixture.folder)/pinned", pinned: true)
            #expect(try Self.commits(pinnedBundle).values.sorted() == [head], "the pinned commit, not the moved branch")
            let movedBundle = try await cellRun("\(fixture.folder)/moved", pinned: false)
            #expect(try Self.commits(movedBundle).values.sorted() == [moved])

            let store = "\(fixture.folder)/ingest-store"
            let refused = await RevisionPinTests.nestci(["ingest", movedBundle, "--matrix", fixture.matrix, "--run-id", "pins", "--revisions", pinsFile, "--store", store])
            #expect(refused.status == 65, "\(refused.out)\(refused.err)")
            #expect(refused.err.contains("is of commit \(moved.prefix(12))") && refused.err.contains("pinned") && refused.err.contains(String(head.prefix(12))), "\(refused.err)")
            // The run keeps the pins: a later ingest without --revisions still checks them.
            let run = try #require(try await BundleIngester(store: ArtifactStore(root: store)).run("pins"))
            #expect(run.revisions?.map(\.commit) == [head])
            #expect(await RevisionPinTests.nestci(["ingest", movedBundle, "--run-id", "pins", "--store", store]).status == 65)
            let accepted = await RevisionPinTests.nestci(["ingest", pinnedBundle, "--run-id", "pins", "--store", store, "--finish"])
            #expect(accepted.status == 0, "\(accepted.out)\(accepted.err)")
            #expect(accepted.out.contains("1 bundle ingested"), "\(accepted.out)")
        }
    }
}

import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Six fixture cells (pass, fail and the -O2-only VMCS fault at O0/O2), each run by
/// `nestci cell run` into a bundle once for the suite: real gcc builds into a shared
/// cache, real GRUB disks, real qemu-tcg boots.
actor CellBundleFixture {
    static let shared = CellBundleFixture()

    struct Made: Sendable {
        var fixture: FixtureMatrix
        var runID: String
        var cache: String
        var out: String
        var plan: Plan
        /// Exit status of `nestci cell run` per cell id.
        var statuses: [String: Int32]
        var bundles: [String] { plan.cells.map { "\(out)/\($0.id)" } }
    }

    static let matrixText = """
        {
          "name": "bundle-fixture",
          "components": {
            "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel"}}
          },
          "chains": {
            "pass": {"levels": [{"component": "fixture", "cmdline": "mode=pass"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}},
            "fail": {"levels": [{"component": "fixture", "cmdline": "mode=fail"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}},
            "vmcs": {"levels": [{"component": "fixture", "cmdline": "mode=vmcs"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}}
          },
          "axes": {"chain": ["pass", "fail", "vmcs"], "opt": ["O0", "O2"], "bits": ["i386"], "backend": ["qemu-tcg"]}
        }
        """

    private var made: Made?

    /// Removes the fixture's folder (the suite's last test calls it; a later caller makes it again).
    func remove() {
        made?.fixture.remove()
        made = nil
    }

    func value() async throws -> Made {
        if let made { return made }
        let fixture = try await FixtureMatrix.make(matrix: Self.matrixText)
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let runID = "bundles-\(UUID().uuidString.prefix(8))"
        let cache = "\(fixture.folder)/cache"
        let out = "\(fixture.folder)/out"
        var statuses: [String: Int32] = [:]
        for index in plan.cells.indices {
            let (console, _) = Console.capturing()
            statuses[plan.cells[index].id] = await NestCI.main(
                ["cell", "run", fixture.matrix, "--index", "\(index)", "--out", out, "--cache", cache, "--run-id", runID], console: console)
        }
        let made = Made(fixture: fixture, runID: runID, cache: cache, out: out, plan: plan, statuses: statuses)
        self.made = made
        return made
    }
}

extension RealBootSuite {
    @Suite("Cell bundles: nestci cell run, nestci ingest", .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
    struct CellBundleTests {
        @Test("cell run of each cell, then ingest: the same outcomes and findings in the store as a local run; ingesting again changes nothing")
        func sameAsLocalRun() async throws {
            let made = try await CellBundleFixture.shared.value()
            #expect(made.plan.cells.count == 6)
            // A local run of the same matrix, for comparison.
            let local = "\(made.fixture.folder)/local-store"
            let (localConsole, localOutput) = Console.capturing()
            let localStatus = await NestCI.main(["run", made.fixture.matrix, "--store", local, "--slots", "2"], console: localConsole)
            #expect(localStatus == 1, "\(localOutput.out)\(localOutput.err)")

            // Every bundle is complete, and cell run's exit status is its outcome's.
            for cell in made.plan.cells {
                let (manifest, _) = try BundleIngester.manifest(of: "\(made.out)/\(cell.id)")
                #expect(made.statuses[cell.id] == manifest.exitStatus.rawValue)
                #expect(manifest.runID == made.runID && manifest.matrix == "bundle-fixture" && manifest.nestciVersion == NestCI.version)
                let names = Set(manifest.files.map(\.name))
                for needed in ["result.json", "serial.log", "verdict.json", "reproduce.sh", "host.json", "builds.json", "build-0-fixture.log"] {
                    #expect(names.contains(needed), "bundle of \(cell.id) lacks \(needed)")
                }
            }
            #expect(Set(made.statuses.values) == [0, 1])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: made.out).filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty, "half bundles left: \(leftovers)")

            let distributed = "\(made.fixture.folder)/ingest-store"
            let (console, output) = Console.capturing()
            let status = await NestCI.main(
                ["ingest"] + made.bundles + ["--store", distributed, "--matrix", made.fixture.matrix, "--finish"], console: console)
            #expect(status == 1, "the run has FAILs: \(output.out)\(output.err)")
            #expect(output.out.contains("6 bundles ingested, 0 duplicates, 0 refused"), "\(output.out)\(output.err)")

            let localStore = try ArtifactStore(root: local)
            let localRun = try #require(try await localStore.runs().first)
            let store = try ArtifactStore(root: distributed)
            let run = try #require(try await store.run(made.runID))
            #expect(run.status == .finished && run.plannedCells == 6 && run.recordedCells == 6)
            func outcomes(_ cells: [CellResult]) -> [String: Outcome] { Dictionary(uniqueKeysWithValues: cells.map { ($0.cellID, $0.outcome) }) }
            let localCells = try await localStore.cells(runID: localRun.id)
            let ingested = try await store.cells(runID: made.runID)
            #expect(outcomes(ingested) == outcomes(localCells))
            #expect(ingested.map(\.cellID) == made.plan.cells.map(\.id), "plan order")
            #expect(Set(ingested.map(\.rule)) == Set(localCells.map(\.rule)))
            // The -O2-only VMCS fault is an -O finding in both, with the VMCS diff.
            let localFindings = try await localStore.findings(runID: localRun.id)
            let findings = try await store.findings(runID: made.runID)
            #expect(findings.map(\.kind) == localFindings.map(\.kind) && findings.map(\.cellIDs) == localFindings.map(\.cellIDs))
            #expect(findings.contains { $0.kind == .optOnly && $0.vmcsDiff != nil })
            // The evidence is in the cell folders and indexed, as for a local run.
            let vmcsCell = try #require(made.plan.cells.first { $0.chain == "vmcs" && $0.levels[0].build?.opt == .O2 })
            let artifacts = try await store.artifacts(runID: made.runID, cellID: vmcsCell.id)
            for kind in ["serial", "result", "vmcs", "verdict", "reproduce", "build-log"] {
                #expect(artifacts.contains { $0.kind == kind }, "no \(kind) artifact indexed")
            }
            #expect(FileManager.default.fileExists(atPath: "\(distributed)/dashboard/runs/\(made.runID)/index.html"))

            // Idempotent: the same bundles again change nothing.
            let before = try await store.artifacts(runID: made.runID)
            let (again, againOutput) = Console.capturing()
            let againStatus = await NestCI.main(["ingest"] + made.bundles + ["--store", distributed], console: again)
            #expect(againStatus == 0, "\("\(againOutput.out)")\(againOutput.err)")
            #expect(againOutput.out.contains("0 bundles ingested, 6 duplicates, 0 refused"), "\(againOutput.out)")
            #expect(try await store.artifacts(runID: made.runID) == before)
            #expect(try await store.run(made.runID)?.status == .finished)
        }

        @Test("refused: tampered, cut short, another run, matrix or version, traversal, links, FIFOs, huge sizes, garbage; the good bundle still goes in")
        func refusals() async throws {
            let made = try await CellBundleFixture.shared.value()
            let good = made.bundles[0]
            let scratch = "\(made.fixture.folder)/refusals-\(UUID().uuidString.prefix(6))"
            let store = try ArtifactStore(root: "\(scratch)/store")
            let ingester = BundleIngester(store: store)
            let run = try await ingester.begin(
                runID: made.runID, plan: made.plan, matrixPath: made.fixture.matrix,
                matrixDigest: try CellBundle.matrixDigest(path: made.fixture.matrix))
            var copies = 0
            func copy(_ change: (String) throws -> Void) throws -> String {
                copies += 1
                let folder = "\(scratch)/bundles/\(copies)/\((good as NSString).lastPathComponent)"
                try FileManager.default.createDirectory(atPath: (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: good, toPath: folder)
                try change(folder)
                return folder
            }
            func editManifest(_ folder: String, _ edit: (inout CellBundle) -> Void) throws {
                var manifest = try BundleIngester.manifest(of: folder).manifest
                edit(&manifest)
                try AtomicFile.writeJSON(manifest, to: "\(folder)/manifest.json")
            }
            func refused(_ bundle: String, into run: BundleRun, _ code: BundleError.Code, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) async {
                do {
                    let result = try await ingester.ingest(bundle, into: run)
                    Issue.record("ingested, expected a refusal (\(code)): \(result)", sourceLocation: sourceLocation)
                } catch let error as BundleError {
                    #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
                    #expect(error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation)
                } catch {
                    Issue.record("not a BundleError: \(error)", sourceLocation: sourceLocation)
                }
            }

            let tampered = try copy { folder in
                var data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/serial.log"))
                data[data.count / 2] ^= 0x20
                try data.write(to: URL(fileURLWithPath: "\(folder)/serial.log"))
            }
            await refused(tampered, into: run, .checksum, saying: "SHA-256")
            let cut = try copy { try Data("short".utf8).write(to: URL(fileURLWithPath: "\($0)/reproduce.sh")) }
            await refused(cut, into: run, .checksum, saying: "reproduce.sh has 5 bytes")
            let missing = try copy { try FileManager.default.removeItem(atPath: "\($0)/verdict.json") }
            await refused(missing, into: run, .checksum, saying: "verdict.json is missing")
            let version = try copy { try editManifest($0) { $0.nestciVersion = "0.0.1" } }
            await refused(version, into: run, .mismatch, saying: "nestciVersion is 0.0.1")
            let otherRun = try await ingester.begin(
                runID: "another-run", plan: made.plan, matrixPath: made.fixture.matrix,
                matrixDigest: try CellBundle.matrixDigest(path: made.fixture.matrix))
            await refused(good, into: otherRun, .mismatch, saying: "runID is \(made.runID) but this ingest is into run another-run")
            // The same name, other content: another matrix.
            let otherMatrix = "\(scratch)/matrix.json"
            try (String(contentsOfFile: made.fixture.matrix, encoding: .utf8) + "\n").write(toFile: otherMatrix, atomically: true, encoding: .utf8)
            let otherStore = BundleIngester(store: try ArtifactStore(root: "\(scratch)/other-store"))
            let otherMatrixRun = try await otherStore.begin(
                runID: made.runID, plan: made.plan, matrixPath: otherMatrix, matrixDigest: try CellBundle.matrixDigest(path: otherMatrix))
            do {
                _ = try await otherStore.ingest(good, into: otherMatrixRun)
                Issue.record("a bundle of another matrix was ingested")
            } catch let error as BundleError {
                #expect(error.code == .mismatch && error.message.contains("matrix is bundle-fixture (sha256"), "\(error.message)")
            }

            // Hostile names: nothing is written outside the store.
            let traversal = try copy { folder in
                try Data("x".utf8).write(to: URL(fileURLWithPath: "\(folder)/../escape.txt"))
                try editManifest(folder) { $0.files.append(.init(name: "../escape.txt", bytes: 1, sha256: SHA256.hex(of: "x"))) }
            }
            await refused(traversal, into: run, .unsafe, saying: "../escape.txt")
            let nested = try copy { try editManifest($0) { $0.files.append(.init(name: "/etc/passwd", bytes: 1, sha256: "00")) } }
            await refused(nested, into: run, .unsafe, saying: "/etc/passwd")
            let twice = try copy { try editManifest($0) { $0.files.append($0.files[0]) } }
            await refused(twice, into: run, .unsafe, saying: "listed twice")
            let link = try copy { folder in
                try FileManager.default.removeItem(atPath: "\(folder)/verdict.json")
                try FileManager.default.createSymbolicLink(atPath: "\(folder)/verdict.json", withDestinationPath: "/etc/hostname")
            }
            await refused(link, into: run, .unsafe, saying: "symbolic link")
            let fifo = try copy { folder in
                try FileManager.default.removeItem(atPath: "\(folder)/serial.log")
                #expect(mkfifo("\(folder)/serial.log", 0o644) == 0)
            }
            await refused(fifo, into: run, .unsafe, saying: "not a regular file")
            let huge = try copy { try editManifest($0) { $0.files[0].bytes = 1 << 40 } }
            await refused(huge, into: run, .unsafe, saying: "\(1 << 40) bytes")
            let garbage = try copy { try Data("{\"format\": 1}".utf8).write(to: URL(fileURLWithPath: "\($0)/manifest.json")) }
            await refused(garbage, into: run, .notABundle, saying: "not a bundle manifest")
            await refused(scratch, into: run, .notABundle, saying: "manifest.json is missing")
            let store2Files = try FileManager.default.subpathsOfDirectory(atPath: "\(scratch)/store")
            #expect(!store2Files.contains { $0.hasSuffix("escape.txt") })
            #expect(try await store.cells(runID: made.runID).isEmpty, "nothing refused was recorded")
            #expect(!store2Files.contains { $0.contains(".ingest-") }, "no staging folder left")

            // Through the command line: refused ones named, the good one ingested, exit 65.
            let (console, output) = Console.capturing()
            let status = await NestCI.main(["ingest", tampered, good, version, "--store", "\(scratch)/store"], console: console)
            #expect(status == 65)
            #expect(output.err.contains("refused: bundle \(tampered): serial.log") && output.err.contains("nestciVersion is 0.0.1"), "\(output.err)")
            #expect(output.out.contains("1 bundle ingested, 0 duplicates, 2 refused"), "\(output.out)")
            #expect(try await store.cells(runID: made.runID).map(\.cellID) == [made.plan.cells[0].id])
            // A run the store does not have, and no matrix to begin it.
            let (missingConsole, missingOutput) = Console.capturing()
            #expect(await NestCI.main(["ingest", good, "--store", "\(scratch)/empty-store"], console: missingConsole) == 64)
            #expect(missingOutput.err.contains("pass --matrix FILE"), "\(missingOutput.err)")
        }

        @Test("exit status 75 when the cell is INFRA (its repository cannot be reached), 64 for a wrong call; no bundle from a wrong call")
        func infraAndUsage() async throws {
            let made = try await CellBundleFixture.shared.value()
            let matrix = "\(made.fixture.folder)/unreachable.json"
            try CellBundleFixture.matrixText.replacingOccurrences(of: #""repository": "kernels""#, with: #""repository": "/nonexistent/kernels""#)
                .write(toFile: matrix, atomically: true, encoding: .utf8)
            let out = "\(made.fixture.folder)/infra-out"
            let (console, output) = Console.capturing()
            let status = await NestCI.main(["cell", "run", matrix, "--index", "0", "--out", out, "--cache", made.cache, "--run-id", "infra"], console: console)
            #expect(status == 75, "\(output.out)\(output.err)")
            let cellID = try MatrixFile.load(path: matrix).plan().cells[0].id
            let (manifest, _) = try BundleIngester.manifest(of: "\(out)/\(cellID)")
            #expect(manifest.outcome == .infra)

            for arguments in [
                ["cell", "run", matrix, "--index", "0"],
                ["cell", "run", matrix, "--index", "99", "--out", out],
                ["cell", "run", matrix, "--cell", "nope", "--out", out],
                ["cell", "run", matrix, "--cell", cellID, "--index", "0", "--out", out],
                ["cell", "go", matrix, "--index", "0", "--out", out],
            ] {
                let (usage, usageOutput) = Console.capturing()
                #expect(await NestCI.main(arguments, console: usage) == 64, "\(arguments): \(usageOutput.err)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out) == [cellID])
        }

        @Test("--cell given more than once: the cells run in turn in one process, each its own bundle and status file, the exit is the first failure")
        func severalCells() async throws {
            let made = try await CellBundleFixture.shared.value()
            let out = "\(made.fixture.folder)/several-out"
            let statusDir = "\(made.fixture.folder)/several-status"
            try FileManager.default.createDirectory(atPath: statusDir, withIntermediateDirectories: true)
            let pass = try #require(made.plan.cells.firstIndex { $0.chain == "pass" })
            let fail = try #require(made.plan.cells.firstIndex { $0.chain == "fail" })
            let (console, output) = Console.capturing()
            let status = await NestCI.main(
                ["cell", "run", made.fixture.matrix, "--cell", made.plan.cells[pass].id, "--cell", made.plan.cells[fail].id, "--out", out,
                 "--cache", made.cache, "--run-id", made.runID, "--status-dir", statusDir, "--attempt", "2"], console: console)
            #expect(status == 1, "the FAIL cell's status: \(output.out)\(output.err)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == [made.plan.cells[pass].id, made.plan.cells[fail].id])
            #expect(try String(contentsOfFile: "\(statusDir)/\(pass).2", encoding: .utf8) == "0\n")
            #expect(try String(contentsOfFile: "\(statusDir)/\(fail).2", encoding: .utf8) == "1\n")
            for arguments in [
                ["cell", "run", made.fixture.matrix, "--cell", made.plan.cells[pass].id, "--attempt", "1", "--out", out],
                ["cell", "run", made.fixture.matrix, "--cell", made.plan.cells[pass].id, "--cell", "nope", "--out", out],
                ["cell", "run", made.fixture.matrix, "--cell", made.plan.cells[pass].id, "--cell", made.plan.cells[fail].id, "--index", "0", "--out", out],
            ] {
                let (usage, usageOutput) = Console.capturing()
                #expect(await NestCI.main(arguments, console: usage) == 64, "\(arguments): \(usageOutput.err)")
            }
        }

        @Test(
            "cell run SIGKILLed mid-boot leaves no bundle (at most a hidden staging folder) and no emulator; run again, the bundle is whole",
            .enabled(if: NestCIBinary.path != nil, "needs the nestci executable beside the test bundle (swift build first)"))
        func killedTask() async throws {
            let made = try await CellBundleFixture.shared.value()
            let hanging = "\(made.fixture.folder)/hanging.json"
            try String(contentsOfFile: made.fixture.matrix, encoding: .utf8)
                .replacingOccurrences(of: "mode=pass\"", with: "mode=hang\"").replacingOccurrences(of: "\"boot\": 60", with: "\"boot\": 600")
                .write(toFile: hanging, atomically: true, encoding: .utf8)
            let out = "\(made.fixture.folder)/killed-out-\(UUID().uuidString.prefix(6))"
            let task = try SupervisedProcess(ProcessSpec(
                NestCIBinary.path!, ["cell", "run", hanging, "--index", "0", "--out", out, "--cache", made.cache, "--run-id", made.runID], timeout: .seconds(300)))
            let emulators = try await KillTests.waitFor(1) { EmulatorProcesses.matching(made.fixture.folder).count }
            try #require(emulators > 0, "the cell should be booting")
            kill(task.pid, SIGKILL)
            _ = await task.wait()
            try await Task.sleep(for: .seconds(3))
            #expect(EmulatorProcesses.matching(made.fixture.folder).isEmpty, "the emulator of the killed task is gone")
            let entries = try FileManager.default.contentsOfDirectory(atPath: out)
            #expect(entries.allSatisfy { $0.hasPrefix(".tmp-") }, "only a hidden staging folder may be left: \(entries)")
            #expect(throws: BundleError.self) { try BundleIngester.manifest(of: "\(out)/\(made.plan.cells[0].id)") }

            // The retried task (the real cell this time) makes the whole bundle.
            let (console, output) = Console.capturing()
            let status = await NestCI.main(
                ["cell", "run", made.fixture.matrix, "--index", "0", "--out", out, "--cache", made.cache, "--run-id", made.runID], console: console)
            #expect(status == 0, "\(output.out)\(output.err)")
            let (manifest, _) = try BundleIngester.manifest(of: "\(out)/\(made.plan.cells[0].id)")
            #expect(manifest.outcome == .pass)
            let store = try ArtifactStore(root: "\(made.fixture.folder)/killed-store-\(UUID().uuidString.prefix(6))")
            let ingester = BundleIngester(store: store)
            let run = try await ingester.begin(
                runID: made.runID, plan: made.plan, matrixPath: made.fixture.matrix, matrixDigest: try CellBundle.matrixDigest(path: made.fixture.matrix))
            #expect(try await ingester.ingest("\(out)/\(made.plan.cells[0].id)", into: run) != .duplicate(cellID: made.plan.cells[0].id))
        }

        @Test(
            "two nestci processes build the same key into one --cache at once: one builds, the other reuses; the build is complete",
            .enabled(if: NestCIBinary.path != nil, "needs the nestci executable beside the test bundle (swift build first)"))
        func concurrentBuilds() async throws {
            let made = try await CellBundleFixture.shared.value()
            let cache = "\(made.fixture.folder)/concurrent-cache-\(UUID().uuidString.prefix(6))"
            let key = made.plan.builds[0].key
            let spec = ProcessSpec(NestCIBinary.path!, ["build", made.fixture.matrix, "--only", key, "--cache", cache], timeout: .seconds(300))
            async let first = SupervisedProcess.run(spec)
            async let second = SupervisedProcess.run(spec)
            let results = try await [first, second]
            for result in results { #expect(result.succeeded, "\(result.summary): \(result.output)") }
            func said(_ result: ProcessResult, _ word: String) -> Bool {
                result.output.split(separator: "\n").contains { $0.hasPrefix(key) && $0.trimmingCharacters(in: .whitespaces).hasSuffix(word) }
            }
            let builtBy = results.filter { said($0, "built") }.count
            let reusedBy = results.filter { said($0, "hit") }.count
            #expect(builtBy == 1 && reusedBy == 1, "\(results.map(\.output))")
            let builds = "\(cache)/builds"
            let links = try FileManager.default.contentsOfDirectory(atPath: builds).filter { !$0.hasPrefix(".") }
            #expect(links.count == 1)
            let objects = try FileManager.default.contentsOfDirectory(atPath: "\(builds)/.objects")
            #expect(objects.count == 1, "the loser's object is gone: \(objects)")
            let link = try #require(links.first)
            let record = try #require(BuildCache(store: URL(fileURLWithPath: cache)).reusable(link))
            #expect(record.status == .passed && record.directory?.lastPathComponent == objects.first)
            let staging = try FileManager.default.contentsOfDirectory(atPath: builds).filter { $0.hasPrefix(".tmp-") || $0.hasPrefix(".link-") }
            #expect(staging.isEmpty)
            // The last test of the suite (source order): the fixture's folder goes.
            await CellBundleFixture.shared.remove()
        }
    }
}

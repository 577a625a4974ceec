import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Helpers for running generated scripts.
enum ScriptRun {
    /// `sh ARGS` in `directory` with `PATH` = `path`; output and status.
    static func sh(_ arguments: [String], in directory: String, path: String, timeout: Duration = .seconds(600)) async throws -> ProcessResult {
        try await SupervisedProcess.run(
            ProcessSpec("/bin/sh", arguments, environment: ["PATH": path], workingDirectory: directory, timeout: timeout, outputLimit: 4 << 20))
    }

    /// PATH without nestci (the fallback judge) or with the nestci built beside the tests.
    static let plainPath = "/usr/local/bin:/usr/bin:/bin"
    static var nestciPath: String? {
        StoreCrashTests.nestciBinary.map { (($0 as NSString).deletingLastPathComponent) + ":" + plainPath }
    }

    /// Every file under `folder` whose name contains `name`.
    static func find(_ name: String, under folder: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var found: [String] = []
        while let entry = enumerator?.nextObject() as? String {
            if (entry as NSString).lastPathComponent.contains(name) { found.append(entry) }
        }
        return found
    }

    /// sha256 of every regular file under `folder`, by relative path.
    static func hashes(_ folder: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let entry = enumerator?.nextObject() as? String {
            // The process ledger is live bookkeeping of whichever nestci runs on the store
            // (the test's own fetches included), not the store's content.
            if entry.hasPrefix(".processes") { continue }
            let path = "\(folder)/\(entry)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil
            else { continue }
            result[entry] = try #require(try FileDigest.sha256(path: path)).hex
        }
        return result
    }
}

@Suite("reproduce.sh text: quoting and sanitising")
struct ReproduceTextTests {
    @Test("comment text keeps one line: newlines, CRs and escapes become visible escapes")
    func comment() {
        #expect(ShellQuote.comment("c\nid > pwned\n#") == "c\\nid > pwned\\n#")
        #expect(ShellQuote.comment("a\r\u{1b}[2Jb\u{85}") == "a\\r\\x1b[2Jb\\x85")
    }

    @Test("printfLines recreates a text byte for byte, a here-document's delimiter line included", arguments: [
        "one\ntwo\n", "no final newline", "", "\n\n", "EOF\n'quoted' $(id) `id` \\ %s %%\n", "last line\nwithout",
    ])
    func printfLines(text: String) async throws {
        let directory = try EvidenceTestDirectory()
        let result = try await ScriptRun.sh(["-c", ShellQuote.printfLines(text) + " > out"], in: directory.path(""), path: ScriptRun.plainPath)
        #expect(result.succeeded)
        #expect(FileManager.default.contents(atPath: directory.path("out")) == Data(text.utf8))
    }
}

extension RealBootSuite {
    /// Issue 10 §7 and issue 11 §1 with the fixture kernel under qemu-tcg: a reproducer
    /// built from hostile names runs nothing injected, builds the level fresh, makes the
    /// disk with grub-mkimage and mtools, boots, and judges like the run.
    @Suite(
        "reproduce.sh: injection-safe, builds, boots and judges",
        .enabled(if: RealBootFixtures.available && RealBootTools.qemu, RealBootTools.qemuReason))
    struct ReproduceScriptTests {
        /// A real build of the fixture kernel and the one-cell plan it belongs to.
        static func fixture() async throws -> (folder: String, cell: Cell, record: BuildRecord) {
            let matrix = try await FixtureMatrix.make()
            let text = """
                {"name": "repro", "components": {"fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
                  "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}}, "boot": {"kernel": "kernel"}}},
                 "chains": {"pass": {"levels": [{"component": "fixture", "cmdline": "mode=pass"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}}},
                 "axes": {"chain": ["pass"], "opt": ["O0"], "bits": ["i386"], "backend": ["qemu-tcg"]}}
                """
            try text.write(toFile: "\(matrix.folder)/repro.json", atomically: true, encoding: .utf8)
            let cell = try #require(try MatrixFile.load(path: "\(matrix.folder)/repro.json").plan().cells.first)
            let builder = Builder(store: URL(fileURLWithPath: "\(matrix.folder)/store"), options: BuilderOptions(maxParallel: 1, cores: 2))
            let record = try await builder.build(try #require(cell.levels[0].build))
            try #require(record.status == .passed, "\(record.summary)")
            return (matrix.folder, cell, record)
        }

        static func reproduction(cell: Cell, record: BuildRecord) throws -> ReproduceScript {
            let kernel = try #require(record.outputURL("kernel")).path
            let config = try GrubConfig(kernel: "fixture.bin", cmdline: "mode=pass").render()
            let disk = ReproduceDisk(level: 0, spec: GrubDiskSpec(files: ["fixture.bin": kernel], grubConfig: config), outputs: ["fixture.bin": "kernel"])
            return ReproduceScript(cell: cell, builds: [0: record], disks: [disk], hostHasVMX: false, vmxReason: "qemu TCG has no VMX")
        }

        @Test("a chain named \"c\\nid > pwned\\n#\", a component fx$(id>pwned) and a workaround reason with newlines: sh -n parses it, running it runs nothing injected and PASSes")
        func injection() async throws {
            let (folder, planned, built) = try await Self.fixture()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var cell = planned
            var record = built
            cell.chain = "c\nid > pwned\n#"
            cell.levels[0].component = "fx$(id>pwned)"
            record.component = "fx$(id>pwned)`id>pwned2`"
            record.revision = "main\nid > pwned3"
            record.workarounds = [AppliedWorkaround(flags: ["-Wno-x\nid>pwned4"], reason: "why\nid > pwned5\n#")]
            let script = try Self.reproduction(cell: cell, record: record).render()
            #expect(!script.contains("\nid > pwned"), "a raw newline before the injected line")
            let scriptFolder = "\(folder)/cell"
            try FileManager.default.createDirectory(atPath: scriptFolder, withIntermediateDirectories: true)
            try script.write(toFile: "\(scriptFolder)/reproduce.sh", atomically: true, encoding: .utf8)

            let parsed = try await ScriptRun.sh(["-n", "reproduce.sh"], in: scriptFolder, path: ScriptRun.plainPath)
            #expect(parsed.succeeded, "\(parsed.output)")
            // Without nestci: the grep judge.
            let plain = try await ScriptRun.sh(["\(scriptFolder)/reproduce.sh", "\(folder)/work"], in: folder, path: ScriptRun.plainPath)
            #expect(plain.succeeded, "\(plain.output.suffix(3000))")
            #expect(plain.output.contains("verdict (grep, approximate): PASS"), "\(plain.output.suffix(2000))")
            #expect(plain.output.contains("level 0: fixture.bin has the same bytes as the run's build"))
            #expect(ScriptRun.find("pwned", under: folder).isEmpty, "injected: \(ScriptRun.find("pwned", under: folder))")
            // With nestci: the run's own judge.
            if let path = ScriptRun.nestciPath {
                let judged = try await ScriptRun.sh(["\(scriptFolder)/reproduce.sh", "\(folder)/work2"], in: folder, path: path)
                #expect(judged.succeeded && judged.output.contains("verdict: PASS (pass:pass[0])"), "\(judged.output.suffix(2000))")
                #expect(ScriptRun.find("pwned", under: folder).isEmpty)
            }
        }

        @Test("the script's GRUB disk is GrubDiskBuilder's: same size, same boot sector and core image (first MiB) for the same inputs")
        func sameDisk() async throws {
            let (folder, cell, record) = try await Self.fixture()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let reproduction = try Self.reproduction(cell: cell, record: record)
            let spec = reproduction.disks[0].spec
            let built = try await GrubDiskBuilder(store: "\(folder)/disks").build(spec)
            let diskFolder = "\(folder)/scripted"
            try FileManager.default.createDirectory(atPath: "\(diskFolder)/files", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: spec.files["fixture.bin"]!, toPath: "\(diskFolder)/files/fixture.bin")
            // The builder's key as the tag: then early.cfg, and so the core image, are equal.
            let lines = GrubDiskScript.lines(spec, tag: built.key)
            let result = try await ScriptRun.sh(["-c", "set -eu\n" + lines.joined(separator: "\n")], in: diskFolder, path: ScriptRun.plainPath)
            #expect(result.succeeded, "\(result.output)")
            let ours = try #require(FileManager.default.contents(atPath: "\(diskFolder)/disk.img"))
            let theirs = try #require(FileManager.default.contents(atPath: built.path))
            #expect(ours.count == theirs.count)
            #expect(ours.prefix(1 << 20) == theirs.prefix(1 << 20))
        }

        @Test("--gdb PORT starts qemu with -gdb tcp::PORT -S and no deadline; stopping the script leaves no qemu")
        func gdb() async throws {
            let (folder, cell, record) = try await Self.fixture()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try Self.reproduction(cell: cell, record: record).render().write(toFile: "\(folder)/reproduce.sh", atomically: true, encoding: .utf8)
            let port = 20000 + Int(getpid() % 20000)
            let script = try SupervisedProcess(
                ProcessSpec(
                    "/bin/sh", ["reproduce.sh", "--gdb", String(port), "\(folder)/gdbwork"], environment: ["PATH": ScriptRun.nestciPath ?? ScriptRun.plainPath],
                    workingDirectory: folder, timeout: .seconds(300)))
            // qemu waits at -S for a debugger: find it by its command line.
            var found: String?
            for _ in 0..<600 where found == nil {
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
                    guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
                    let command = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                    if command.hasPrefix("qemu-system"), command.contains("-gdb tcp::\(port) -S") { found = entry }
                }
                if found == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            script.stop()
            let result = await script.wait()
            #expect(found != nil, "no qemu with -gdb tcp::\(port) -S: \(result.output.suffix(2000))")
            #expect(result.output.contains("qemu waits for gdb: target remote :\(port)"), "\(result.output.suffix(1000))")
            if let found {
                try await Task.sleep(for: .milliseconds(500))
                #expect(!FileManager.default.fileExists(atPath: "/proc/\(found)/cmdline") || (try? String(contentsOfFile: "/proc/\(found)/stat", encoding: .utf8))?.contains(") Z ") == true)
            }
        }

        @Test("--with-build LEVEL=DIR boots the developer's build; a WORKDIR inside a store is refused before anything is made")
        func withBuildAndStoreRefused() async throws {
            let (folder, cell, record) = try await Self.fixture()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try Self.reproduction(cell: cell, record: record).render().write(toFile: "\(folder)/reproduce.sh", atomically: true, encoding: .utf8)
            // The developer's own build: a copy of the kernels, built with make.
            let mine = "\(folder)/mine"
            try FileManager.default.copyItem(atPath: "\(folder)/kernels", toPath: mine)
            let make = try await SupervisedProcess.run(ProcessSpec("make", ["-C", mine, "BITS=i386", "OPT=-O0"], timeout: .seconds(300)))
            try #require(make.succeeded)
            let path = ScriptRun.nestciPath ?? ScriptRun.plainPath
            let result = try await ScriptRun.sh(["reproduce.sh", "--with-build", "0=\(mine)", "w"], in: folder, path: path)
            #expect(result.succeeded && result.output.contains("level 0: your build in \(mine)"), "\(result.output.suffix(2000))")
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/w/level0"), "no clone with --with-build")
            // A store: refused, and nothing created in it.
            try Data().write(to: URL(fileURLWithPath: "\(folder)/store/nestci.db"))
            let refused = try await ScriptRun.sh(["reproduce.sh", "store/runs/x"], in: folder, path: path)
            #expect(refused.termination == .exited(64) && refused.output.contains("inside the nestci store"), "\(refused.output)")
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/store/runs"))
        }
    }
}

extension RealBootSuite {
    /// Issue 11 §1–2 on the demo under Bochs: a stored cell's reproduce.sh, run from inside
    /// the store into a temporary WORKDIR, gives the stored verdict and leaves every file of
    /// the store as it was; a fetch bundle boots again with no clone and no build.
    @Suite(
        "reproduce.sh and fetch bundles of a demo cell (Bochs)",
        .enabled(if: RealBootTools.bochs && StoreCrashTests.nestciBinary != nil, "needs Bochs, GRUB tools, gcc-multilib and the nestci executable"))
    struct ReproduceDemoTests {
        @Test("rev=main O2 i386: reproduce.sh gives the stored FAIL (fail:vm-entry-error); the store's sha256s are unchanged; the bundle (with the O0 sibling) boots --from-bundle")
        func demoCell() async throws {
            let directory = try EvidenceTestDirectory()
            let store = directory.path("store")
            let matrix = try await DemoProject.locate().materialize(in: directory.path("demo"))
            let cells = try MatrixFile.load(path: matrix).plan().cells.filter { $0.values["rev"] == "main" && $0.bits == .i386 }
            let failing = try #require(cells.first { $0.opt == .O2 }).id
            let passing = try #require(cells.first { $0.opt == .O0 }).id
            let (console, output) = Console.capturing()
            let status = await NestCI.main(["run", matrix, "--store", store, "--cell", failing, "--cell", passing], console: console)
            #expect(status == 1, "\(output.err)\n\(output.out.suffix(2000))")
            let runID = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(store)/runs").first)
            let cellFolder = "\(store)/runs/\(runID)/\(failing)"
            let stored = try JSONDecoder().decode(Verdict.self, from: try #require(FileManager.default.contents(atPath: "\(cellFolder)/verdict.json")))
            #expect(stored.outcome == .fail && stored.rule == "fail:vm-entry-error")
            let path = try #require(ScriptRun.nestciPath)

            // From inside the store (the cell folder), into a temporary WORKDIR.
            let before = try ScriptRun.hashes(store)
            let work = directory.path("work")
            let result = try await ScriptRun.sh(["reproduce.sh", work], in: cellFolder, path: path)
            #expect(result.output.contains("verdict: \(stored.outcome.rawValue) (\(stored.rule))"), "\(result.output.suffix(3000))")
            #expect(result.termination == .exited(1), "FAIL exits 1")
            #expect(FileManager.default.fileExists(atPath: "\(work)/level0/.git"), "built from a fresh clone")
            #expect(FileManager.default.fileExists(atPath: "\(work)/bochsrc") && FileManager.default.fileExists(atPath: "\(work)/serial.txt"))
            let after = try ScriptRun.hashes(store)
            #expect(before == after, "changed in the store: \(Set(after.keys).symmetricDifference(before.keys)) \(before.filter { after[$0.key] != $0.value }.keys)")
            // The same rules judge the stored serial log the same way.
            let judged = await NestCI.main(["judge", "\(cellFolder)/serial.log", "--rules", "\(cellFolder)/\(RunLayout.rulesFile)"], console: console)
            #expect(judged == 1 && output.out.contains("verdict: FAIL (fail:vm-entry-error)"))

            // The bundle: grub.cfg, emulator settings, rules, reproducer, binaries, and the passing sibling.
            let bundles = directory.path("bundles")
            let fetched = await NestCI.main(["fetch", runID, "--failed", "--bundle", "--to", bundles, "--store", store], console: console)
            #expect(fetched == 0, "\(output.err)")
            let bundle = "\(bundles)/\(runID)-failed.tar.gz"
            let listing = try await SupervisedProcess.run(ProcessSpec("tar", ["tzf", bundle], timeout: .seconds(60)))
            let entries = Set(listing.output.split(separator: "\n").map(String.init))
            for cell in [failing, passing] {
                for name in ["grub-0.cfg", RunLayout.emulatorSettings, RunLayout.rulesFile, "reproduce.sh", "boot/0/minivisor.bin"] {
                    #expect(entries.contains("\(runID)/\(cell)/\(name)"), "\(cell)/\(name) missing from \(entries.sorted())")
                }
            }
            let settings = try #require(try await SupervisedProcess.run(ProcessSpec("tar", ["xzOf", bundle, "\(runID)/\(failing)/\(RunLayout.emulatorSettings)"], timeout: .seconds(60))).output)
            #expect(settings.contains("\"SDL_VIDEODRIVER\" : \"dummy\"") && settings.contains("cpu: model=corei7_skylake_x"), "\(settings)")
            let lean = await NestCI.main(["fetch", "\(runID)/\(failing)", "--bundle", "--no-binaries", "--to", directory.path("lean"), "--store", store], console: console)
            #expect(lean == 0)
            let leanListing = try await SupervisedProcess.run(ProcessSpec("tar", ["tzf", directory.path("lean/\(runID)-\(failing).tar.gz")], timeout: .seconds(60)))
            #expect(leanListing.succeeded && !leanListing.output.contains("boot/0/") && leanListing.output.contains("reproduce.sh"))

            // --from-bundle: the shipped binaries, no clone, no build; the same verdict.
            let unpacked = directory.path("unpacked")
            try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
            let untar = try await SupervisedProcess.run(ProcessSpec("tar", ["xzf", bundle, "-C", unpacked], timeout: .seconds(60)))
            #expect(untar.succeeded)
            let rebooted = try await ScriptRun.sh(
                ["\(unpacked)/\(runID)/\(failing)/reproduce.sh", "--from-bundle", directory.path("work2")], in: unpacked, path: path)
            #expect(rebooted.output.contains("verdict: FAIL (fail:vm-entry-error)"), "\(rebooted.output.suffix(3000))")
            #expect(!FileManager.default.fileExists(atPath: directory.path("work2/level0")))
            // Bochs has no gdb stub in Debian's build: said plainly, before any build.
            let gdb = try await ScriptRun.sh(["reproduce.sh", "--gdb", "1234", directory.path("work3")], in: cellFolder, path: path)
            #expect(gdb.termination == .exited(64) && gdb.output.contains("gdb stub"), "\(gdb.output)")
            #expect(!FileManager.default.fileExists(atPath: directory.path("work3/level0")))
            #expect(try ScriptRun.hashes(store) == after)
        }
    }
}

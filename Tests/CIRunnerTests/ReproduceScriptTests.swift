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

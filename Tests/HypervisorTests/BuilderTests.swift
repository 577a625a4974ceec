import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Builds: real gcc builds of the fixture project", .enabled(if: Tool.exists("gcc") && Tool.exists("make"), "needs gcc and make"))
struct BuilderTests {
    @Test("the fixture builds for real at each level and bitness", arguments: [OptLevel.O0, .O3], Bits.allCases)
    func buildsForReal(_ opt: OptLevel, _ bits: Bits) async throws {
        let scratch = try Scratch("build")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let builder = Builder(store: scratch.path("store"))
        let record = try await builder.build(.fixture(repository, opt: opt, bits: bits, counter: counter))

        #expect(record.status == .passed, "\(record.summary)")
        #expect(record.commit == (try await repository.git("rev-parse", "HEAD")))
        #expect(startedCount(counter) == 1)
        #expect(record.command.contains("make BITS=\(bits.rawValue) OPT='\(record.optFlags)' -j"))
        if opt == .O0 {
            #expect(record.optFlags == "-O0")
            #expect(record.workarounds.isEmpty, "O0 needs no workaround")
        } else if Tool.gccMajor >= 12 {
            #expect(record.optFlags == "-O3 -Wno-array-bounds -Wno-stringop-overflow")
        }

        // The output was collected, hashed, and is the right kind of ELF.
        let output = try #require(record.outputs.first)
        #expect(output.name == "prog" && output.source == "out/\(bits.rawValue)/prog")
        let file = try #require(record.outputURL("prog"))
        let bytes = try Data(contentsOf: file)
        #expect(output.size == bytes.count)
        var hasher = SHA256()
        hasher.update(Array(bytes))
        #expect(output.sha256 == hasher.hexDigest)
        #expect(bytes[4] == (bits == .i386 ? 1 : 2), "ELFCLASS32 for i386, ELFCLASS64 for amd64")

        // It runs, and the revision `git describe` gave it shows the worktree was real.
        let run = try await SupervisedProcess.run(ProcessSpec(file.path))
        #expect(run.output == "buildproject v1, \(bits == .i386 ? 32 : 64)-bit\n")

        // The log holds the compiler's command lines; the record reads back from disk.
        let log = try String(contentsOf: try #require(record.logURL), encoding: .utf8)
        #expect(log.contains("gcc \(bits.gccFlag) -Wall -Werror \(record.optFlags)"))
        let stored = try #require(builder.cache.read(record.cacheKey))
        #expect(stored.status == .passed && stored.outputs == record.outputs && stored.optFlags == record.optFlags)
        // An immutable object that the key's link names.
        #expect(record.directory?.lastPathComponent.hasPrefix(record.cacheKey + "-") == true)
        #expect(builder.cache.folder(for: record.cacheKey).resolvingSymlinksInPath() == record.directory)
        #expect(!record.cacheHit)

        // The worktree is gone after the build.
        let worktrees = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("store/worktrees").path)) ?? []
        #expect(worktrees.isEmpty)
    }

    @Test(
        "GCC bug 104657: -O3 fails without the workaround and passes with it, which the record explains",
        .enabled(if: Tool.gccMajor >= 12, "needs GCC 12 or later"), arguments: Bits.allCases)
    func arrayBoundsWorkaround(_ bits: Bits) async throws {
        let scratch = try Scratch("build")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let spec = BuildSpec.fixture(repository, opt: .O3, bits: bits, counter: counter)

        let raw = try await Builder(store: scratch.path("store"), options: BuilderOptions(noWorkarounds: true)).build(spec)
        #expect(raw.status == .failed)
        #expect(raw.optFlags == "-O3")
        #expect(raw.workarounds.isEmpty && raw.workaroundsDisabled)
        #expect(raw.errorLines.contains { $0.contains("array subscript 0 is outside array bounds") }, "\(raw.errorLines)")
        #expect(raw.errorLines.count <= BuildRunner.maxErrorLines)
        #expect(raw.failure == "build command exit 2")
        #expect(raw.outputs.isEmpty)
        #expect(raw.summary.hasPrefix("failed: bda.c:"))

        let fixed = try await Builder(store: scratch.path("store")).build(spec)
        #expect(fixed.status == .passed, "\(fixed.summary)")
        #expect(fixed.optFlags == "-O3 -Wno-array-bounds -Wno-stringop-overflow")
        #expect(fixed.workarounds.first == AppliedWorkaround(flags: ["-Wno-array-bounds"], reason: FlagWorkaround.builtIn[0].reason))
        #expect(fixed.workarounds.first?.reason.contains("GCC bug 104657") == true)
        #expect(fixed.cacheKey != raw.cacheKey, "different flags, different build")
        #expect(startedCount(counter) == 2)

        // What a developer reads on disk says the same.
        let json = try String(contentsOf: try #require(fixed.directory).appendingPathComponent("record.json"), encoding: .utf8)
        #expect(json.contains("GCC bug 104657"))
        #expect(json.contains("\"optFlags\" : \"-O3 -Wno-array-bounds -Wno-stringop-overflow\""))
    }

    @Test("a cross compiler named by the spec is probed and used", .enabled(if: Tool.exists("x86_64-linux-gnu-gcc")))
    func namedCompiler() async throws {
        let scratch = try Scratch("build")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        var spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: scratch.path("started"))
        spec.compiler = "x86_64-linux-gnu-gcc"
        spec.command = "make BITS={bits} OPT='{opt}' CC={cc}"
        spec.variables = ["cc": spec.compiler]
        let record = try await Builder(store: scratch.path("store")).build(spec)
        #expect(record.status == .passed, "\(record.summary)")
        #expect(record.toolchain.command == "x86_64-linux-gnu-gcc")
        #expect(record.command.contains("CC=x86_64-linux-gnu-gcc"))
    }
}

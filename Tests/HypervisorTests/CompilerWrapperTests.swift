import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Compiler wrapper: per-unit -O, unit log, absolute-path bypass, hostile names", .enabled(if: Tool.exists("gcc"), "needs gcc"))
struct CompilerWrapperTests {
    /// A scratch build root (a `.git` folder marks it) with sources, and a wrappers folder.
    struct Scratch {
        let root: String
        let wrappers: String

        init() throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-wrap-\(UUID().uuidString)").path
            root = base + "/repo"
            wrappers = base + "/wrappers"
            try FileManager.default.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        }

        func write(_ relative: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + relative))
        }

        /// Runs a shell command in `directory` (relative to the root) with `folder` first on PATH.
        func sh(_ command: String, in directory: String = "", wrapper folder: String) async throws -> ProcessResult {
            let path = "\(folder):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"
            return try await SupervisedProcess.run(
                .shell(command, workingDirectory: directory.isEmpty ? root : root + "/" + directory, environment: ["PATH": path], timeout: .seconds(120)))
        }
    }

    /// A unit that reports the level it was compiled at in an object symbol's name.
    static let probe = """
        #ifdef __OPTIMIZE__
        int built_optimized;
        #else
        int built_unoptimized;
        #endif
        """

    func symbols(_ object: String) async throws -> String {
        try await SupervisedProcess.run(ProcessSpec("nm", [object], timeout: .seconds(30))).output
    }

    @Test("listed units at -O2, the others at -O0; every unit logged relative to the build root")
    func rewritesPerUnit() async throws {
        let scratch = try Scratch()
        try scratch.write("a.c", Self.probe)
        try scratch.write("sub/b.c", Self.probe)
        let wrapper = CompilerWrapper(listed: ["sub/b.c"], listedOpt: "-O2", otherOpt: "-O0", compiler: "gcc", tag: "level=0")
        let folder = try wrapper.install(under: scratch.wrappers)
        #expect(FileManager.default.isExecutableFile(atPath: folder + "/cc"))
        #expect(FileManager.default.isExecutableFile(atPath: folder + "/gcc"))
        let result = try await scratch.sh("cc -O2 -c -o a.o a.c && cd sub && gcc -c -O2 b.c -o ../b.o && cd .. && gcc -o /dev/null -c ./a.c -O3", wrapper: folder)
        #expect(result.succeeded, "\(result.output)")
        #expect(try await symbols(scratch.root + "/a.o").contains("built_unoptimized"))
        #expect(try await symbols(scratch.root + "/b.o").contains("built_optimized"))
        let log = CompilerWrapper.log(of: folder)
        #expect(log.map(\.path) == ["a.c", "sub/b.c", "a.c"])
        #expect(log.map(\.opt) == ["-O0", "-O2", "-O0"])
        #expect(CompilerWrapper.units(of: folder) == ["a.c", "sub/b.c"])
        // Equal wrappers share a folder; a different selection gets its own.
        #expect(try wrapper.install(under: scratch.wrappers) == folder)
        let other = CompilerWrapper(listed: [], listedOpt: "-O2", otherOpt: nil, compiler: "gcc", tag: "level=0")
        #expect(try other.install(under: scratch.wrappers) != folder)
    }

    @Test("a build calling the compiler by absolute path bypasses the wrapper: no unit logged")
    func absolutePathBypass() async throws {
        let scratch = try Scratch()
        try scratch.write("a.c", Self.probe)
        let wrapper = CompilerWrapper(listed: [], listedOpt: "-O2", otherOpt: "-O0", compiler: "gcc", tag: "level=0")
        let folder = try wrapper.install(under: scratch.wrappers)
        let gcc = SupervisedProcess.resolve("gcc", path: ProcessInfo.processInfo.environment["PATH"])
        let result = try await scratch.sh("\(ShellQuote.quote(gcc)) -O2 -c -o a.o a.c", wrapper: folder)
        #expect(result.succeeded, "\(result.output)")
        #expect(CompilerWrapper.units(of: folder).isEmpty)
        #expect(try await symbols(scratch.root + "/a.o").contains("built_optimized"), "the wrapper did not run")
    }

    @Test("hostile unit names are compared and logged literally, never run", arguments: [
        "$(touch PWNED).c", "`touch PWNED`.c", "a b; touch PWNED.c", "-x'q\"uote.c", "*.c",
    ])
    func hostileNames(name: String) async throws {
        let scratch = try Scratch()
        try scratch.write(name, Self.probe)
        try scratch.write("plain.c", Self.probe)
        let wrapper = CompilerWrapper(listed: [name], listedOpt: "-O2", otherOpt: "-O0", compiler: "gcc", tag: "t'$(touch PWNED)")
        let folder = try wrapper.install(under: scratch.wrappers)
        let result = try await scratch.sh("gcc -O2 -c -o hostile.o ./\(ShellQuote.quote(name)) && gcc -O2 -c -o plain.o plain.c", wrapper: folder)
        #expect(result.succeeded, "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: scratch.root + "/PWNED"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/PWNED"))
        #expect(CompilerWrapper.units(of: folder) == [name, "plain.c"])
        #expect(try await symbols(scratch.root + "/hostile.o").contains("built_optimized"))
        #expect(try await symbols(scratch.root + "/plain.o").contains("built_unoptimized"))
    }
}

import Foundation
import Matrix
import Testing

@testable import Hypervisor

/// `nestci serve` runs for weeks: a compiler upgraded between two runs must change the
/// next run's toolchain identity, and so its cache keys.
@Suite("Toolchain re-probed per run")
struct ToolchainReprobeTests {
    @Test("a compiler changed between two runs gives the next run another toolchain id and cache key", .enabled(if: Tool.exists("gcc"), "needs gcc"))
    func upgradeBetweenRuns() async throws {
        let scratch = try Scratch("reprobe")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let realGCC = SupervisedProcess.resolve("gcc", path: ProcessInfo.processInfo.environment["PATH"])
        // A folder that would come first on PATH, holding a `gcc` wrapper; the matrix names
        // it by path so that no other test in this process sees it.
        let bin = scratch.path("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let wrapper = bin.appendingPathComponent("gcc").path
        func install(_ script: String) throws {
            try Data("#!/bin/sh\n\(script)".utf8).write(to: URL(fileURLWithPath: wrapper))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
        }
        try install("exec '\(realGCC)' \"$@\"\n")
        var spec = BuildSpec.fixture(repository, opt: .O2, bits: .amd64, counter: scratch.path("counter"))
        spec.compiler = wrapper

        let first = try await Builder(store: scratch.path("store")).plan(spec)
        // The "upgrade": same name, another version.
        try install("""
            case "$1" in
              --version) echo "gcc (nestci test) 99.1.0"; echo "Copyright (C) nobody" ;;
              -dumpfullversion|-dumpversion) echo 99.1.0 ;;
              *) exec '\(realGCC)' "$@" ;;
            esac

            """)
        let second = try await Builder(store: scratch.path("store")).plan(spec)
        #expect(first.toolchain.version != "99.1.0")
        #expect(second.toolchain.version == "99.1.0")
        #expect(first.toolchain.fingerprint != second.toolchain.fingerprint)
        #expect(first.cacheKey != second.cacheKey, "a compiler upgrade must not reuse the old compiler's builds")
    }
}

import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Toolchain probe")
struct ToolchainProbeTests {
    @Test("gcc: family, full version, target and a fingerprint", .enabled(if: Tool.exists("gcc"), "needs gcc"))
    func probesGCC() async throws {
        let gcc = try await ToolchainProbe().toolchain(for: "gcc")
        #expect(gcc.family == "gcc")
        #expect(gcc.major == Tool.gccMajor)
        #expect(gcc.version.split(separator: ".").count >= 2, "full version, not just the major: \(gcc.version)")
        #expect(gcc.target.contains("linux"))
        #expect(gcc.versionLine.contains(gcc.version))
        #expect(gcc.versionOutputSHA256.count == 64)
        #expect(gcc.fingerprint.contains(gcc.version) && gcc.fingerprint.contains(gcc.versionOutputSHA256))
    }

    @Test(
        "a target-prefixed compiler name is probed as itself",
        arguments: ["x86_64-linux-gnu-gcc", "i686-linux-gnu-gcc"].filter(Tool.exists))
    func probesCrossCompiler(_ name: String) async throws {
        let cross = try await ToolchainProbe().toolchain(for: name)
        #expect(cross.command == name)
        #expect(cross.family == "gcc")
        #expect(name.hasPrefix(cross.target.split(separator: "-").first.map(String.init) ?? "?"))
    }

    @Test("clang is told apart from gcc", .enabled(if: Tool.exists("clang"), "needs clang"))
    func probesClang() async throws {
        let clang = try await ToolchainProbe().toolchain(for: "clang")
        #expect(clang.family == "clang")
        #expect(clang.major > 0)
        let flags = FlagPolicy.flags(for: .O3, toolchain: clang)
        #expect(flags.applied.isEmpty, "the GCC 12 workaround is not for clang")
    }

    @Test("each compiler is probed once per probe, however many builds ask", .enabled(if: Tool.exists("gcc")))
    func probesOnce() async throws {
        let probe = ToolchainProbe()
        let versions = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 { group.addTask { try await probe.toolchain(for: "gcc").fingerprint } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(versions.count == 1)
        #expect(await probe.probesRun == 1)
    }

    @Test("a missing compiler is an error that names it and says what to do")
    func missingCompiler() async throws {
        let error = await #expect(throws: ToolchainError.self) {
            try await ToolchainProbe().toolchain(for: "nestci-no-such-gcc")
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("'nestci-no-such-gcc' not found: install it") == true)
    }

    @Test("a compiler upgrade changes the cache key")
    func upgradeChangesKey() throws {
        let old = Toolchain(
            command: "gcc", family: "gcc", version: "12.2.0", target: "x86_64-linux-gnu",
            versionLine: "gcc (Debian 12.2.0-14) 12.2.0", versionOutputSHA256: String(repeating: "a", count: 64))
        var rebuilt = old
        rebuilt.versionOutputSHA256 = String(repeating: "b", count: 64)  // same version, new package
        var upgraded = old
        upgraded.version = "12.3.0"
        let spec = BuildSpec(
            component: "x", repository: "/r", revision: "main", command: "make", outputs: [:], opt: .O3,
            bits: .amd64, variables: [:])
        let flags = FlagPolicy.flags(for: .O3, toolchain: old)
        let keys = [old, rebuilt, upgraded].map { BuildCache.key(spec: spec, commit: "c", toolchain: $0, flags: flags) }
        #expect(Set(keys).count == 3)
        #expect(keys[0].hasPrefix("x-O3-amd64-"))
    }
}

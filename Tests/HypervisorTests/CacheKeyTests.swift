import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Build cache keys")
struct CacheKeyTests {
    static let gcc12 = FlagPolicyTests.gcc12
    static let commit = String(repeating: "a", count: 40)

    static func spec(_ opt: OptLevel, command: String = "make OPT='{opt}' -j{jobs}", workarounds: [FlagWorkaround] = []) -> BuildSpec {
        BuildSpec(
            component: "xmhf64", repository: "/srv/xmhf64.git", revision: "main", command: command,
            outputs: ["image": "hv-{bits}.bin"], opt: opt, bits: .amd64, variables: ["bits": "amd64"],
            workarounds: workarounds)
    }

    static func key(_ spec: BuildSpec, disabled: Bool = false) -> String {
        let flags = FlagPolicy.flags(for: spec.opt, toolchain: gcc12, extra: spec.workarounds, disabled: disabled)
        return BuildCache.key(spec: spec, commit: commit, toolchain: gcc12, flags: flags)
    }

    @Test("cache keys unchanged by an unrelated workaround", arguments: OptLevel.allCases)
    func unrelatedWorkaround(_ opt: OptLevel) {
        // XMHF64 at -Os needs -Wno-inline: the other levels' flags are byte-identical.
        let inline = FlagWorkaround(compiler: "gcc", minMajor: 1, levels: [.Os], flags: ["-Wno-inline"], reason: "XMHF64 -Os")
        let clangOnly = FlagWorkaround(compiler: "clang", minMajor: 1, levels: Set(OptLevel.allCases), flags: ["-Wno-x"], reason: "clang")
        let before = Self.key(Self.spec(opt))
        let after = Self.key(Self.spec(opt, workarounds: [inline, clangOnly]))
        if opt == .Os {
            #expect(after != before, "-Os gets the flag: another build")
        } else {
            #expect(after == before, "same command, flags, toolchain and commit: same build")
        }
    }

    @Test("the key follows the effective command and flags, and ignores {jobs}")
    func effectiveCommand() {
        #expect(Self.key(Self.spec(.O3)) != Self.key(Self.spec(.O3), disabled: true), "workarounds off: other flags")
        #expect(Self.key(Self.spec(.O3)) != Self.key(Self.spec(.O3, command: "make V=1 OPT='{opt}' -j{jobs}")))
        #expect(Self.key(Self.spec(.O3)) == Self.key(Self.spec(.O3, command: "make OPT='{opt}' -j{jobs}")))
        var renamedVariable = Self.spec(.O0)
        renamedVariable.variables["unused"] = "x"
        #expect(Self.key(renamedVariable) == Self.key(Self.spec(.O0)), "a value the command does not use changes nothing")
    }
}

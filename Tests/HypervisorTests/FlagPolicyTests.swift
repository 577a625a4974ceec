import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Flag policy and templates")
struct FlagPolicyTests {
    static func toolchain(_ family: String, _ version: String) -> Toolchain {
        Toolchain(
            command: family, family: family, version: version, target: "x86_64-linux-gnu",
            versionLine: "\(family) \(version)", versionOutputSHA256: "")
    }

    static let gcc12 = toolchain("gcc", "12.2.0")

    @Test("GCC 12 gets -Wno-array-bounds (GCC bug 104657) and -Wno-stringop-overflow at -O2, -O3, -Os only", arguments: OptLevel.allCases)
    func gcc12ArrayBounds(_ level: OptLevel) {
        let flags = FlagPolicy.flags(for: level, toolchain: Self.gcc12)
        if [.O2, .O3, .Os].contains(level) {
            #expect(flags.opt == "\(level.flag) -Wno-array-bounds -Wno-stringop-overflow")
            #expect(flags.applied.count == 2)
            #expect(flags.applied.map(\.flags) == [["-Wno-array-bounds"], ["-Wno-stringop-overflow"]])
            #expect(flags.applied.first?.reason.contains("GCC bug 104657") == true)
            #expect(flags.applied.last?.reason.contains("tpm.h:346:16: writing 1 byte into a region of size 0") == true)
        } else {
            #expect(flags.opt == level.flag)
            #expect(flags.applied.isEmpty)
        }
    }

    @Test("compilers outside the affected range get the bare level", arguments: ["gcc 11.3.0", "clang 15.0.7", "gcc x"])
    func unaffectedCompilers(_ identity: String) {
        let parts = identity.split(separator: " ").map(String.init)
        let flags = FlagPolicy.flags(for: .O3, toolchain: Self.toolchain(parts[0], parts[1]))
        #expect(flags.opt == "-O3")
        #expect(flags.applied.isEmpty)
    }

    @Test("the matrix file's workarounds add to the built-in table (XMHF64 at -Os needs -Wno-inline)")
    func matrixWorkarounds() {
        let inline = FlagWorkaround(
            compiler: "gcc", minMajor: 1, levels: [.Os], flags: ["-Wno-inline", "-Wno-array-bounds"],
            reason: "XMHF64 at -Os: -Werror=inline, inlining failed, code size would grow")
        let os = FlagPolicy.flags(for: .Os, toolchain: Self.gcc12, extra: [inline])
        #expect(os.opt == "-Os -Wno-array-bounds -Wno-stringop-overflow -Wno-inline", "each flag once")
        #expect(os.applied.map(\.flags) == [["-Wno-array-bounds"], ["-Wno-stringop-overflow"], ["-Wno-inline"]])
        #expect(os.applied.last?.reason.contains("inlining failed") == true)
        let o3 = FlagPolicy.flags(for: .O3, toolchain: Self.gcc12, extra: [inline])
        #expect(o3.opt == "-O3 -Wno-array-bounds -Wno-stringop-overflow")
    }

    @Test("noWorkarounds gives the raw level flag and says so")
    func disabled() {
        let flags = FlagPolicy.flags(for: .O3, toolchain: Self.gcc12, disabled: true)
        #expect(flags.opt == "-O3")
        #expect(flags.applied.isEmpty)
        #expect(flags.workaroundsDisabled)
    }

    @Test("a version range bounds a workaround", arguments: [(11, false), (12, true), (13, true), (14, false)])
    func versionRange(_ major: Int, _ applies: Bool) {
        let bounded = FlagWorkaround(compiler: "gcc", minMajor: 12, maxMajor: 13, levels: [.O2], flags: ["-x"], reason: "r")
        #expect(FlagPolicy.applies(bounded, level: .O2, toolchain: Self.toolchain("gcc", "\(major).1.0")) == applies)
    }

    @Test("templates expand {opt}, {jobs}, {bits} and variables, leaving shell braces alone")
    func templateExpansion() throws {
        let template = Template("./configure --with-opt='{opt}' --arch={bits} {extra} && make -j{jobs} ${HOME} {a,b} {}")
        #expect(template.placeholders == ["opt", "bits", "extra", "jobs"])
        let text = try template.expand(["opt": "-O3 -Wno-array-bounds", "bits": "amd64", "jobs": "2", "extra": "--x"])
        #expect(text == "./configure --with-opt='-O3 -Wno-array-bounds' --arch=amd64 --x && make -j2 ${HOME} {a,b} {}")
    }

    @Test("an unknown placeholder is an error naming it")
    func unknownPlaceholder() {
        let error = #expect(throws: TemplateError.self) {
            try Template("make FLAVOUR={flavour} -j{jobs}").expand(["jobs": "2", "opt": "-O0"])
        }
        #expect(error?.placeholder == "flavour")
        #expect(error?.description.hasPrefix("unknown placeholder {flavour} in 'make FLAVOUR={flavour} -j{jobs}'") == true)
    }
}

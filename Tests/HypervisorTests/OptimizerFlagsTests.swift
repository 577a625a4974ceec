import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Optimizer flags: the -O triage candidates from gcc -Q --help=optimizers")
struct OptimizerFlagsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gcc")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    @Test("parses GCC 12's real output: states of flags, value lines and stateless flags skipped")
    func parsesRealOutput() throws {
        let states = OptimizerFlags.parse(try Self.fixture("optimizers-O2-m32.txt"))
        #expect(states["-fstrict-aliasing"] == true)
        #expect(states["-fwrapv"] == false)
        #expect(states["-falign-functions"] == true)
        #expect(states["-falign-functions="] == nil, "value lines are no flags")
        #expect(states["-fdelete-null-pointer-checks"] == nil, "GCC lists it without a state")
        #expect(states.count > 150)
        let low = OptimizerFlags.parse(try Self.fixture("optimizers-O0-m32.txt"))
        #expect(low["-fstrict-aliasing"] == false)
    }

    @Test("candidates: enabled at -O2 and not at -O0, undefined-behaviour flags first in their order")
    func candidatesOrder() throws {
        let low = OptimizerFlags.parse(try Self.fixture("optimizers-O0-m32.txt"))
        let high = OptimizerFlags.parse(try Self.fixture("optimizers-O2-m32.txt"))
        let candidates = OptimizerFlags.candidates(low: low, high: high)
        #expect(Array(candidates.prefix(3)) == ["-fstrict-aliasing", "-fstrict-overflow", "-fdelete-null-pointer-checks"])
        #expect(candidates.contains("-ftree-pre"))
        #expect(!candidates.contains("-fipa-strict-aliasing"), "enabled at -O0 already")
        #expect(Set(candidates).count == candidates.count)
        let rest = candidates.drop { OptimizerFlags.undefinedBehaviourFirst.contains($0) }
        #expect(Array(rest) == rest.sorted())
        #expect(OptimizerFlags.candidates(low: low, high: low).isEmpty, "-O0 against itself: nothing")
    }

    @Test("the disabling flag of each candidate")
    func disabling() {
        #expect(OptimizerFlags.disabling("-fstrict-aliasing") == "-fno-strict-aliasing")
        #expect(OptimizerFlags.disabling("-fstrict-overflow") == "-fwrapv")
        #expect(OptimizerFlags.disabling("-fno-common") == "-fcommon")
    }

    @Test("runs the real compiler supervised, -m32 for i386", .enabled(if: Tool.exists("gcc"), "needs gcc"))
    func realCompiler() async throws {
        let candidates = try await OptimizerFlags.candidates(compiler: "gcc", low: .O0, high: .O2, bits: .i386)
        #expect(candidates.first == "-fstrict-aliasing")
        #expect(candidates.count > 40)
        let none = try await OptimizerFlags.candidates(compiler: "gcc", low: .O2, high: .O2, bits: .amd64)
        #expect(none.isEmpty)
        await #expect(throws: OptimizerFlagsError.self) {
            _ = try await OptimizerFlags.candidates(compiler: "nestci-no-such-cc", low: .O0, high: .O2, bits: .amd64)
        }
    }
}

import Foundation
import Hypervisor

/// A throw-away git repository of the fixture kernels (`Tests/Fixtures/kernels` of the
/// source tree nestci was built from) and a 16-cell matrix over it under qemu-tcg:
/// pass, fail, per-CPU counting on 2 CPUs, and the -O2-only VMCS fault, at O0/O2 ×
/// i386/amd64. Used by the `nestci run` test and by `nestci bench boots`.
public struct FixtureMatrix: Sendable {
    public let folder: String
    public var matrix: String { "\(folder)/matrix.json" }
    public var store: String { "\(folder)/store" }

    public static let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/kernels").path

    /// The fixture repository with `matrix` (default: the 16-cell matrix below) beside it.
    public static func make(matrix: String = matrixText) async throws -> FixtureMatrix {
        guard FileManager.default.fileExists(atPath: "\(kernels)/Makefile") else {
            throw RunError(.missingInput, "the fixture kernels are not at \(kernels): run this from a nestci source checkout")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-fixtures-\(UUID().uuidString.prefix(8))").path
        let repository = "\(folder)/kernels"
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: kernels) where name != "build" {
            try FileManager.default.copyItem(atPath: "\(kernels)/\(name)", toPath: "\(repository)/\(name)")
        }
        let git = "git -c user.name=nestci -c user.email=nestci@invalid -c commit.gpgsign=false"
        let setup = try await SupervisedProcess.run(.shell("\(git) init -q -b main && \(git) add -A && \(git) commit -q -m fixtures", workingDirectory: repository, timeout: .seconds(30)))
        guard setup.succeeded else { throw RunError(.setup, "git setup of the fixture repository failed: \(setup.output)") }
        try matrix.write(toFile: "\(folder)/matrix.json", atomically: true, encoding: .utf8)
        return FixtureMatrix(folder: folder)
    }

    /// Removes the folder, unless NESTCI_KEEP is set (to read a benchmark's spool and logs after).
    public func remove() {
        guard ProcessInfo.processInfo.environment["NESTCI_KEEP"] == nil else { return }
        try? FileManager.default.removeItem(atPath: folder)
    }

    public static let matrixText = """
        {
          "name": "fixture-run",
          "components": {
            "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel"}}
          },
          "chains": {
            "pass": {"levels": [{"component": "fixture", "cmdline": "mode=pass"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}},
            "fail": {"levels": [{"component": "fixture", "cmdline": "mode=fail"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}},
            "smp": {"levels": [{"component": "fixture", "cmdline": "mode=smp cpus=2 iters=25"}],
                    "verdict": {"pass": [{"regex": "fixture iter", "minPerCPU": 25}]}, "timeouts": {"boot": 60}},
            "vmcs": {"levels": [{"component": "fixture", "cmdline": "mode=vmcs"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}}
          },
          "axes": {"chain": ["pass", "fail", "smp", "vmcs"], "opt": ["O0", "O2"], "bits": ["i386", "amd64"], "smp": [1, 2], "backend": ["qemu-tcg"]},
          "exclude": [{"chain": "pass", "smp": 2}, {"chain": "fail", "smp": 2}, {"chain": "vmcs", "smp": 2}, {"chain": "smp", "smp": 1}]
        }
        """
}

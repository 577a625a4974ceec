import Foundation
import Testing

@testable import CIRunner

/// Library errors carry their own codes; only the CLI picks the message and exit status.
@Suite("CLI maps library errors")
struct CLIErrorMappingTests {
    @Test("store, run and dashboard errors: their message, and 64 only for a bad reference")
    func mapping() {
        #expect(NestCI.exitStatus(for: StoreError(.badReference, "x")) == .usage)
        #expect(NestCI.exitStatus(for: StoreError(.notFound, "x")) == .failure)
        #expect(NestCI.exitStatus(for: RunError(.io, "x")) == .failure)
        #expect(NestCI.exitStatus(for: DashboardError(.io, "x")) == .failure)
        #expect(NestCI.message(for: RunError(.missingInput, "level 0 (x): image /i does not exist")) == "level 0 (x): image /i does not exist")
    }

    @Test("a store error thrown by a command is printed as its message, exit 1")
    func storeErrorThroughTheCLI() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-cli-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try ArtifactStore(root: root)
        let (status, out, err) = await CLITests.run(["cancel", "999", "--store", root])
        #expect(status == 1, "\(out)\(err)")
        #expect(err.hasPrefix("nestci: nothing queued or running matches 999"), "\(err)")
        #expect(!err.contains("StoreError"), "no type dump")
    }
}

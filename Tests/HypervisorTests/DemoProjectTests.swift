import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Demo project")
struct DemoProjectTests {
    @Test("materialises a git repository: tag good, then main with the regression commit")
    func history() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-demo-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let matrix = try await DemoProject.locate().materialize(in: folder)
        #expect(FileManager.default.fileExists(atPath: matrix))
        let log = try await SupervisedProcess.run(ProcessSpec("git", ["-C", "\(folder)/demo-repo", "log", "--format=%s", "main"], timeout: .seconds(10)))
        let subjects = log.output.split(separator: "\n").map(String.init)
        #expect(subjects.count == 2)
        #expect(subjects.first == "vmcs: compose 64-bit link pointer from 32-bit halves")
        let diff = try await SupervisedProcess.run(ProcessSpec("git", ["-C", "\(folder)/demo-repo", "diff", "--stat", "good", "main"], timeout: .seconds(10)))
        #expect(diff.output.contains("vmcs_link.c"))
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/demo-repo/regression"))
        // The copied matrix plans against the repository beside it.
        let plan = try MatrixFile.load(path: matrix).plan()
        #expect(plan.builds.allSatisfy { $0.spec.repository == "\(folder)/demo-repo" })
    }
}

import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Demo project")
struct DemoProjectTests {
    @Test("materialises a git repository: tag good, 12 harmless commits with the regression after the sixth, main on top")
    func history() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-demo-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let matrix = try await DemoProject.locate().materialize(in: folder)
        #expect(FileManager.default.fileExists(atPath: matrix))
        let log = try await SupervisedProcess.run(ProcessSpec("git", ["-C", "\(folder)/demo-repo", "log", "--format=%s", "main"], timeout: .seconds(10)))
        let subjects = log.output.split(separator: "\n").map(String.init)
        #expect(subjects.count == 14)
        let bug = "vmcs: compose 64-bit link pointer from 32-bit halves"
        #expect(try DemoProject.locate().regressionSubject() == bug)
        // Newest first: 6 harmless commits above the bug, 6 below, then v1.0 (good).
        #expect(subjects.firstIndex(of: bug) == 6, "\(subjects)")
        #expect(subjects.last == "minivisor v1.0: VMX demo hypervisor")
        let touched = try await SupervisedProcess.run(ProcessSpec("git", ["-C", "\(folder)/demo-repo", "log", "--format=%s", "--", "vmcs_link.c"], timeout: .seconds(10)))
        #expect(touched.output.split(separator: "\n").count == 2, "only v1.0 and the bug touch vmcs_link.c")
        let diff = try await SupervisedProcess.run(ProcessSpec("git", ["-C", "\(folder)/demo-repo", "diff", "--stat", "good", "main"], timeout: .seconds(10)))
        #expect(diff.output.contains("vmcs_link.c"))
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/demo-repo/regression"))
        // The copied matrix plans against the repository beside it.
        let plan = try MatrixFile.load(path: matrix).plan()
        #expect(plan.builds.allSatisfy { $0.spec.repository == "\(folder)/demo-repo" })
    }
}

import Foundation
import Hypervisor
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@testable import CIRunner

/// `nestci run` end to end: a fixture matrix of 16 cells built with gcc from a real git
/// repository and booted under qemu-tcg through nestci's GRUB disks.
@Suite("nestci run", .serialized, .enabled(if: BootTools.qemu, "needs qemu-system-x86_64, grub-mkimage, mtools and gcc-multilib"))
struct RunCommandTests {
    @Test("runs 16 cells: progress, summary, results.json and JUnit a parser accepts")
    func fixtureMatrix() async throws {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let junit = "\(fixture.folder)/junit.xml"
        let (console, output) = Console.capturing()
        let status = await NestCI.main(["run", fixture.matrix, "--store", fixture.store, "--junit", junit, "--slots", "2"], console: console)
        #expect(status == 1, "the fail and -O2 vmcs cells fail, so the run exits 1")
        let out = output.out
        #expect(out.contains("run ") && out.contains("16 cells, 4 builds"))
        #expect(out.contains("  boot  "), "plain progress lines when not a terminal")
        #expect(out.contains("16 cells: 10 PASS, 6 FAIL"))

        let runs = try FileManager.default.contentsOfDirectory(atPath: "\(fixture.store)/runs")
        let runID = try #require(runs.first)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(fixture.store)/runs/\(runID)/results.json"))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let results = try decoder.decode(RunResults.self, from: data)
        #expect(results.cells.count == 16)
        let byChain = Dictionary(grouping: results.cells, by: \.chain)
        #expect(byChain["pass"]?.allSatisfy { $0.outcome == .pass && $0.reason == "FIXTURE PASS" } == true)
        #expect(byChain["fail"]?.allSatisfy { $0.outcome == .fail && $0.reason.contains("Fatal: Halting! Condition 'fixture_ok' failed") } == true)
        #expect(byChain["smp"]?.allSatisfy { $0.outcome == .pass && $0.smp == 2 } == true)
        for cell in byChain["vmcs"] ?? [] {
            #expect(cell.outcome == (cell.values["opt"] == "O0" ? .pass : .fail), "vmcs mode: -O2 reads the stale link pointer")
            #expect(cell.artifacts["vmcs"] == "vmcs.json")
        }
        for cell in results.cells {
            #expect(cell.artifacts["serial"] == "serial.log")
            #expect(FileManager.default.isExecutableFile(atPath: "\(fixture.store)/runs/\(runID)/\(cell.cellID)/reproduce.sh"))
        }

        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: junit), options: [])
        let cases = try document.nodes(forXPath: "//testcase")
        let failures = try document.nodes(forXPath: "//testcase/failure")
        #expect(cases.count == 16)
        #expect(failures.count == 6)
        #expect(try document.nodes(forXPath: "/testsuites/testsuite/@tests").first?.stringValue == "16")
    }
}

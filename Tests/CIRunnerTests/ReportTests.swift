import Foundation
import Matrix
import Testing

@testable import CIRunner

@Suite("Store commands: runs, show, report")
struct ReportTests {
    @Test("runs lists the newest run first with its counts; --json is machine-readable; a missing store says what to do")
    func runs() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let text = await fixture.nestci(["runs"])
        #expect(text.status == 0)
        let lines = text.out.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[2].hasPrefix(StoreFixture.currentRun) && lines[2].contains("4 PASS, 2 FAIL") && lines[2].contains("6/6"))
        #expect(lines[3].hasPrefix(StoreFixture.previousRun) && lines[3].contains("6 PASS"))
        let json = await fixture.nestci(["runs", "--json", "--limit", "1"])
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let decoded = try decoder.decode([RunSummary].self, from: Data(json.out.utf8))
        #expect(decoded.map(\.id) == [StoreFixture.currentRun])
        let (console, captured) = Console.capturing()
        let status = await NestCI.main(["runs", "--store", fixture.directory.url.path + "/nowhere"], console: console)
        let missing = (status: status, err: captured.err)
        #expect(missing.status == 1 && missing.err.contains("no nestci store at") && missing.err.contains("--store DIR"))
        let badLimit = await fixture.nestci(["runs", "--limit", "zero"])
        #expect(badLimit.status == 64)
    }

    @Test("show: findings on top, then the grid (rows chain × smp × backend × rev, columns bits × opt), then the cells")
    func show() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let result = await fixture.nestci(["show", StoreFixture.currentRun])
        #expect(result.status == 1)  // cells failed
        let out = result.out
        #expect(out.contains("findings:\n  [-O only] minivisor i386 (rev=main): passes at O0, fails at O2, O3"))
        #expect(out.contains("chain      smp  backend  rev   i386 O0  i386 O2  i386 O3"))
        #expect(out.contains("minivisor  1    bochs    good  PASS     PASS     PASS"))
        #expect(out.contains("minivisor  1    bochs    main  PASS     FAIL     FAIL"))
        #expect(out.contains(Cell.id(for: StoreFixture.values(rev: "main", opt: "O3"))))
        let previous = await fixture.nestci(["show", StoreFixture.previousRun])
        #expect(previous.status == 0 && !previous.out.contains("findings:"))
    }

    @Test("report: the -O-only finding with its VMCS diff, the regressions with both commits; --json decodes")
    func report() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let result = await fixture.nestci(["report", StoreFixture.currentRun])
        #expect(result.status == 0)
        #expect(result.out.contains("4 findings; compared with the previous run \(StoreFixture.previousRun)"))
        #expect(result.out.contains("[-O only] minivisor i386 (rev=main): passes at O0, fails at O2, O3"))
        #expect(result.out.contains("0x2800  VMCS link pointer (guest_VMCS_link_pointer_full)"))
        #expect(result.out.contains("commit minivisor: 222222222222 → 333333333333"))
        let json = await fixture.nestci(["report", StoreFixture.currentRun, "--json"])
        let report = try JSONDecoder().decode(FindingsReport.self, from: Data(json.out.utf8))
        #expect(report.findings.count == 4 && report.findings[0].vmcsDiff?.fields.first?.encoding == "0x2800")
    }

    @Test("a run that does not exist is an error with a hint; a reference leaving the store is a usage error")
    func badRuns() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let missing = await fixture.nestci(["report", "20250102-020000"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no run 20250102-020000 in") && missing.err.contains("did you mean \(StoreFixture.currentRun)?"))
        for command in ["show", "report"] {
            let escape = await fixture.nestci([command, "../\(StoreFixture.currentRun)"])
            #expect(escape.status == 64 && escape.err.contains("leave the store"))
        }
    }
}

import Foundation
import Matrix
import Testing

@testable import CIRunner

@Suite("Store commands: vmcs")
struct VMCSCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vmcs")
    static let good = fixtures.appendingPathComponent("good1.txt").path
    static let bad = fixtures.appendingPathComponent("bad1.txt").path

    static func nestci(_ arguments: [String]) async -> (status: Int32, out: String, err: String) {
        let (console, captured) = Console.capturing()
        let status = await NestCI.main(arguments, console: console)
        return (status, captured.out, captured.err)
    }

    @Test("vmcs diff on two serial logs names the differing fields, grouped, masked ones hidden")
    func diffSerialLogs() async {
        let result = await Self.nestci(["vmcs", "diff", Self.good, Self.bad])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("controls\n"))
        #expect(result.out.contains("0x2026  VMREAD-bitmap address (control_VMREAD_bitmap_address)"))
        #expect(result.out.contains("0x0000000010b63000 → 0x0000000000000000"))
        #expect(result.out.contains("0x401a"))
        #expect(!result.out.contains("0x2010  "))
        #expect(result.out.contains("masked"))
        let all = await Self.nestci(["vmcs", "diff", "--no-mask", Self.good, Self.bad])
        #expect(all.out.contains("0x2010  ") && all.out.contains("(masked)"))
    }

    @Test("vmcs diff --json is the VMCSDiff; --kind and --cpu filter; a missing dump says what there is")
    func diffOptions() async throws {
        let json = await Self.nestci(["vmcs", "diff", "--json", "--kind", "02", "--cpu", "0", Self.good, Self.bad])
        #expect(json.status == 0)
        let diff = try JSONDecoder().decode(VMCSDiff.self, from: Data(json.out.utf8))
        #expect(diff.changes.contains { $0.encoding == 0x2028 })
        let none = await Self.nestci(["vmcs", "diff", "--kind", "12", Self.good, Self.bad])
        #expect(none.status == 1 && none.err.contains("VMCS02 of CPU 0"))
        let badKind = await Self.nestci(["vmcs", "diff", "--kind", "03", Self.good, Self.bad])
        #expect(badKind.status == 64)
        let oneInput = await Self.nestci(["vmcs", "diff", Self.good])
        #expect(oneInput.status == 64 && oneInput.err.contains("two inputs"))
        let action = await Self.nestci(["vmcs", "dif", Self.good, Self.bad])
        #expect(action.status == 64 && action.err.contains("did you mean diff?"))
    }

    @Test("vmcs diff between store references RUN/CELL#1 reads each cell's vmcs.json")
    func diffStoreReferences() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let good = Cell.id(for: StoreFixture.values(rev: "main", opt: "O0"))
        let bad = Cell.id(for: StoreFixture.values(rev: "main", opt: "O3"))
        let run = StoreFixture.currentRun
        let result = await fixture.nestci(["vmcs", "diff", "\(run)/\(good)#1", "\(run)/\(bad)"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("0x2800  VMCS link pointer (guest_VMCS_link_pointer_full)   0xffffffffffffffff → 0x0000000000000000"))
        // The serial log is parsed when vmcs.json is gone.
        try FileManager.default.removeItem(atPath: fixture.store.layout.cell(run, bad) + "/vmcs.json")
        let fromSerial = await fixture.nestci(["vmcs", "diff", "\(run)/\(good)", "\(run)/\(bad)"])
        #expect(fromSerial.status == 0 && fromSerial.out.contains("0x2800"))
        let escape = await fixture.nestci(["vmcs", "diff", "../\(run)/\(good)", "\(run)/\(bad)"])
        #expect(escape.status == 64 && escape.err.contains("leave the store"))
        let noDump = await fixture.nestci(["vmcs", "diff", "\(run)/\(good)#2", "\(run)/\(bad)"])
        #expect(noDump.status == 1 && noDump.err.contains("no dump #2"))
        let runOnly = await fixture.nestci(["vmcs", "show", run])
        #expect(runOnly.status == 64 && runOnly.err.contains("RUN/CELL"))
    }

    @Test("vmcs show prints each dump as a table; a vmcs.json works as input")
    func show() async throws {
        let result = await Self.nestci(["vmcs", "show", Self.bad])
        #expect(result.status == 0)
        #expect(result.out.hasPrefix("VMCS02 of CPU 0, dump #1"))
        #expect(result.out.contains("after line 7: CPU(0x00): VMRESUME error in nested virtualization"))
        #expect(result.out.contains("0x401a    VM-entry instruction length"))
        let directory = try EvidenceTestDirectory()
        let json = directory.path("vmcs.json")
        try VMCSDumpParser.parse(contentsOf: Self.bad).write(to: URL(fileURLWithPath: json))
        let fromJSON = await Self.nestci(["vmcs", "show", json, "--json"])
        let dumps = try JSONDecoder().decode([VMCSDump].self, from: Data(fromJSON.out.utf8))
        #expect(dumps.count == 1 && dumps[0].field(0x401a)?.value == .value(0))
        let missing = await Self.nestci(["vmcs", "show", directory.path("nothing.txt")])
        #expect(missing.status == 1 && missing.err.contains("no such file"))
    }
}

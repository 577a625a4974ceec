import Foundation
import Testing

@testable import CIRunner

@Suite("VMCS diff")
struct VMCSDiffTests {
    let good: VMCSDumpSet
    let bad: VMCSDumpSet

    init() throws {
        good = try VMCSDumpParser.parse(VMCSFixtures.text("good1.txt"))
        bad = try VMCSDumpParser.parse(VMCSFixtures.text("bad1.txt"))
    }

    @Test("good1 vs bad1 names 0x401a and the VMREAD/VMWRITE bitmaps, grouped and sorted")
    func seedComparison() throws {
        let diff = try VMCSDiff(before: good, after: bad)
        #expect(diff.sections.map(\.group) == [.control, .exitInformation])
        #expect(diff.changes.map(\.encoding) == [0x2026, 0x2028, 0x401a, 0x4400])
        let length = try #require(diff.changes.first { $0.encoding == 0x401a })
        #expect(length.sdmName == "VM-entry instruction length")
        #expect(length.printedName == "control_VM_entry_instruction_length")
        #expect(length.before == .value(1))
        #expect(length.after == .value(0))
        #expect(diff.before.introducedBy?.text == "CPU(0x00): VMCS dump before VM entry with event injection")
        #expect(diff.after.introducedBy?.text == "CPU(0x00): VMRESUME error in nested virtualization")

        let text = diff.text
        #expect(text.contains("controls\n"))
        #expect(text.contains("exit information\n"))
        let row = try #require(text.split(separator: "\n").first { $0.contains("0x401a") })
        #expect(row.hasPrefix("  0x401a  VM-entry instruction length (control_VM_entry_instruction_length)"))
        #expect(row.hasSuffix("0x00000001 → 0x00000000  became 0"))
        #expect(text.contains("0x0000000010b63000 → 0x0000000000000000"))
    }

    @Test("masked host RSP and TSC offset are hidden and counted by default, shown with includeMasked")
    func mask() throws {
        let diff = try VMCSDiff(before: good, after: bad)
        #expect(!diff.changes.contains { $0.encoding == 0x6c14 })
        #expect(diff.maskedCount == 2)
        #expect(diff.maskedNames == ["TSC offset", "Host RSP"])
        #expect(diff.text.contains("2 masked fields differ (TSC offset, Host RSP)"))

        let all = try VMCSDiff(before: good, after: bad, includeMasked: true)
        let rsp = try #require(all.changes.first { $0.encoding == 0x6c14 })
        #expect(rsp.isMasked)
        #expect(rsp.group == .hostState)
        #expect(all.sections.map(\.group) == [.control, .hostState, .exitInformation])
        #expect(all.changes.count == diff.changes.count + 2)
        #expect(all.text.contains("Host RSP (host_RSP)"))
        #expect(!all.text.contains("include masked fields"))
    }

    @Test("fields present in only one dump are reported as absent on the other side")
    func presentInOne() throws {
        let before = VMCSDumpParser.parse("CPU(0x00): (0x0000) VMCS12.control_vpid = 0x0001\n")
        let after = VMCSDumpParser.parse("""
            CPU(0x00): (0x0000) VMCS12.control_vpid = 0x0001
            CPU(0x00): (0x2801) VMCS12.guest_VMCS_link_pointer_high = 0xffffffff
            CPU(0x00): (0x2011) VMCS12.control_TSC_offset_high = 0x1
            """)
        let diff = try VMCSDiff(before: before, after: after)
        #expect(diff.changes.map(\.encoding) == [0x2801])
        #expect(diff.changes.first?.before == nil)
        #expect(diff.changes.first?.sdmName == "VMCS link pointer (high)")
        #expect(diff.maskedCount == 1, "the high half of the TSC offset is masked with it")
        #expect(diff.text.contains("(absent) → 0x00000000ffffffff"))
    }

    @Test("selection picks the Nth dump of a kind and says what exists when it is missing")
    func selection() throws {
        let log = """
            CPU(0x00): (0x0000) VMCS01.control_vpid = 0x0001
            CPU(0x00): (0x0000) VMCS02.control_vpid = 0x0002
            CPU(0x00): again
            CPU(0x00): (0x0000) VMCS02.control_vpid = 0x0003
            """
        let set = VMCSDumpParser.parse(log)
        let diff = try VMCSDiff(before: set, after: set, selection: VMCSDumpSelection(kind: .vmcs02, index: 1))
        #expect(diff.isEmpty)
        #expect(diff.after.occurrence == 1)
        #expect(diff.text.contains("no differences"))
        let first = try VMCSDiff(before: set, after: set)
        #expect(first.before.kind == .vmcs01)

        let error = #expect(throws: VMCSDiffError.self) {
            try VMCSDiff(
                before: set, after: VMCSDumpSet(), selection: VMCSDumpSelection(kind: .vmcs02), labels: ("good.log", "bad.log"))
        }
        #expect(error?.description.contains("bad.log has 0 dump(s) of VMCS02 of any CPU, so there is no dump #1") == true)
        #expect(error?.description.contains("no VMCS dumps") == true)
        let index = #expect(throws: VMCSDiffError.self) {
            try VMCSDiff(before: set, after: set, selection: VMCSDumpSelection(cpu: 0, kind: .vmcs02, index: 5))
        }
        #expect(index?.description.contains("1 × VMCS01 of CPU 0, 2 × VMCS02 of CPU 0") == true)
    }

    @Test("the diff encodes to JSON and back")
    func codable() throws {
        let diff = try VMCSDiff(before: good, after: bad)
        let data = try JSONEncoder().encode(diff)
        #expect(String(decoding: data, as: UTF8.self).contains(#""encoding":"0x401a""#))
        #expect(try JSONDecoder().decode(VMCSDiff.self, from: data) == diff)
    }
}

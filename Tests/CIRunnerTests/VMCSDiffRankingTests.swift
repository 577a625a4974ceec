import Foundation
import Testing

@testable import CIRunner

/// The seed story with two different binaries: a passing -O0 build (`good-O0-layout.txt`,
/// every bitmap and MSR area elsewhere) against the failing -O3 build (`bad1.txt`), where the
/// VMREAD/VMWRITE bitmap addresses went to 0.
@Suite("VMCS diff ranking")
struct VMCSDiffRankingTests {
    let o0: VMCSDumpSet
    let good: VMCSDumpSet
    let bad: VMCSDumpSet

    init() throws {
        o0 = try VMCSDumpParser.parse(VMCSFixtures.text("good-O0-layout.txt"))
        good = try VMCSDumpParser.parse(VMCSFixtures.text("good1.txt"))
        bad = try VMCSDumpParser.parse(VMCSFixtures.text("bad1.txt"))
    }

    @Test("to-zero and error fields rank first, host RIP next, page-aligned address moves last as layout")
    func ranking() throws {
        let diff = try VMCSDiff(before: o0, after: bad)
        #expect(diff.ranked.map(\.encoding) == [0x2026, 0x2028, 0x401a, 0x4400, 0x6c16, 0x2000, 0x2002, 0x2004, 0x2006, 0x2008, 0x200a, 0x201a, 0x6c02])
        #expect(diff.ranked.prefix(4).map(\.note) == ["became 0", "became 0", "became 0", "stopped being 0"])
        #expect(diff.ranked.map(\.significance) == [.telling, .telling, .telling, .telling, .other] + Array(repeating: .layout, count: 8))
        // The EPTP keeps its flags (0x1e) and moves: layout. Host RIP is not page-aligned: shown, not grouped.
        #expect(diff.layoutChanges.map(\.encoding).contains(0x201a))
        #expect(!diff.layoutChanges.map(\.encoding).contains(0x6c16))

        let lines = diff.text.split(separator: "\n").map(String.init)
        let first = try #require(lines.firstIndex { $0.contains("0x2026") })
        let layout = try #require(lines.firstIndex(of: "address differs (layout)"))
        #expect(first < layout)
        #expect(lines[first].hasSuffix("0x0000000010a53000 → 0x0000000000000000  became 0"))
        #expect(lines[(layout + 1)...].prefix(8).allSatisfy { $0.hasPrefix("  0x2") || $0.hasPrefix("  0x6c02") })
        #expect(lines.firstIndex { $0.contains("0x2000") }! > layout, "layout addresses come after every other change")
        #expect(lines.filter { !$0.hasPrefix(" ") && !$0.hasPrefix("VMCS02") }.prefix(4) == ["controls", "exit information", "host state", "address differs (layout)"])
    }

    @Test("all ones, flipped control bits and a 32-bit natural-width all-ones value rank first; equal flags count as layout")
    func notes() {
        let before = VMCSDumpParser.parse("""
            CPU(0x00): (0x2800) VMCS12.guest_VMCS_link_pointer = 0xffffffffffffffff
            CPU(0x00): (0x4002) VMCS12.control_VMX_cpu_based = 0xb6a065fa
            CPU(0x00): (0x6c16) VMCS12.host_RIP = 0xffffffff
            CPU(0x00): (0x6c02) VMCS12.host_CR3 = 0x10a2b018
            CPU(0x00): (0x2004) VMCS12.control_MSR_Bitmaps_address = 0x0000000010b60000
            """)
        let after = VMCSDumpParser.parse("""
            CPU(0x00): (0x2800) VMCS12.guest_VMCS_link_pointer = 0x0000000012345000
            CPU(0x00): (0x4002) VMCS12.control_VMX_cpu_based = 0xb6a061fa
            CPU(0x00): (0x6c16) VMCS12.host_RIP = 0x10206a1c
            CPU(0x00): (0x6c02) VMCS12.host_CR3 = 0x10a3c018
            CPU(0x00): (0x2004) VMCS12.control_MSR_Bitmaps_address = 0x0000000010b60004
            """)
        let diff = try! VMCSDiff(before: before, after: after)
        let notes = Dictionary(uniqueKeysWithValues: diff.changes.map { ($0.encoding, $0.note ?? "-") })
        #expect(notes[0x2800] == "stopped being all ones")
        #expect(notes[0x4002] == "control bits 0x00000400 flipped")
        #expect(notes[0x6c16] == "stopped being all ones")
        #expect(diff.changes.first { $0.encoding == 0x6c02 }?.significance == .layout)
        #expect(diff.changes.first { $0.encoding == 0x2004 }?.significance == .other, "low bits differ: not a plain move")
    }

    @Test("a finding's summary shows the top fields, never hides one that went to 0, and names the layout addresses on one line")
    func summary() throws {
        let diff = try VMCSDiff(before: o0, after: bad)
        let evidence = Finding.VMCSEvidence(
            passingRunID: "r", passingCellID: "o0", failingRunID: "r", failingCellID: "o3", fields: [], diff: diff, text: diff.text)
        let lines = FindingsAnalyzer.vmcsLines(evidence)
        #expect(lines.count == 6)
        #expect(lines[0] == "VMCS 0x2026 VMREAD-bitmap address (control_VMREAD_bitmap_address): 0x0000000010a53000 → 0x0000000000000000 (became 0)")
        #expect(lines[1].hasPrefix("VMCS 0x2028 VMWRITE-bitmap address"))
        #expect(lines[5].hasPrefix("VMCS: 8 addresses differ (layout): Address of I/O bitmap A, Address of I/O bitmap B"))
        #expect(!lines.contains { $0.contains("more field") })

        // Seven fields go to 0: more than the five a summary shows, and none of them is hidden.
        let many = (0..<7).map { UInt16(0x2012 + 2 * $0) }
        let text = { (value: String) in
            many.map { "CPU(0x00): (\(VMCSField.hex($0))) VMCS12.f = \(value)" }.joined(separator: "\n")
                + "\nCPU(0x00): (0x6c16) VMCS12.host_RIP = \(value == "0x0" ? "0x1" : "0x2")\nCPU(0x00): (0x681e) VMCS12.guest_RIP = \(value == "0x0" ? "0x5" : "0x6")"
        }
        let wide = try VMCSDiff(before: VMCSDumpParser.parse(text("0x10b63000")), after: VMCSDumpParser.parse(text("0x0")))
        let wideLines = FindingsAnalyzer.vmcsLines(
            Finding.VMCSEvidence(passingRunID: "r", passingCellID: "a", failingRunID: "r", failingCellID: "b", fields: [], diff: wide, text: ""))
        #expect(wideLines.filter { $0.hasSuffix("(became 0)") }.count == 7)
        #expect(wideLines.last == "VMCS: 2 more field(s) differ")
    }
}

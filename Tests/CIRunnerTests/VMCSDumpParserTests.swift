import Foundation
import Testing

@testable import CIRunner

/// Files under Tests/Fixtures/vmcs, found from this source file so no resources need declaring.
enum VMCSFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/vmcs")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
}

@Suite("VMCS dump parser")
struct VMCSDumpParserTests {
    @Test("parses the seed's lines with SDM names, groups, widths and the introducing line")
    func seedDump() throws {
        let set = try VMCSDumpParser.parse(VMCSFixtures.text("bad1.txt"))
        #expect(set.malformedLines == 0)
        let dump = try #require(set.dumps.first)
        #expect(set.dumps.count == 1)
        #expect(dump.cpu == 0)
        #expect(dump.kind == .vmcs02)
        #expect(dump.occurrence == 0)
        #expect(dump.introducedBy == SourceLine(number: 7, text: "CPU(0x00): VMRESUME error in nested virtualization"))
        let injection = try #require(dump.field(0x4016))
        #expect(injection.printedName == "control_VM_entry_interruption_information")
        #expect(injection.sdmName == "VM-entry interruption-information field")
        #expect(injection.group == .control)
        #expect(injection.width == .bits32)
        #expect(injection.value == .value(0x8000_0603))
        #expect(injection.lineNumber == 37)
        #expect(dump.field(0x440c)?.value == .value(1))
        #expect(dump.field(0x440c)?.group == .exitInformation)
        #expect(dump.field(0x482e)?.value == .unavailable)
        #expect(dump.field(0x2800)?.value == .value(UInt64.max))
        #expect(dump.lineRange == 8...70)
    }

    @Test("two CPUs printing interleaved make two dumps, each with its own introducing line")
    func interleavedCPUs() {
        let log = """
            CPU(0x00): VMCS dump before first VM entry
            CPU(0x01): VMCS dump before first VM entry on the AP
            CPU(0x00): (0x0000) VMCS02.control_vpid = 0x0001
            CPU(0x01): (0x0000) VMCS02.control_vpid = 0x0002
            CPU(0x00): (0x401a) VMCS02.control_VM_entry_instruction_length = 0x00000000
            CPU(0x01): (0x401a) VMCS02.control_VM_entry_instruction_length = 0x00000001
            """
        let set = VMCSDumpParser.parse(log)
        #expect(set.dumps.count == 2)
        let cpu0 = set.dumps(cpu: 0), cpu1 = set.dumps(cpu: 1)
        #expect(cpu0.count == 1 && cpu1.count == 1)
        #expect(cpu0.first?.fields.map(\.encoding) == [0x0000, 0x401a])
        #expect(cpu1.first?.field(0x0000)?.value == .value(2))
        #expect(cpu1.first?.introducedBy?.number == 2)
        #expect(cpu0.first?.introducedBy?.text == "CPU(0x00): VMCS dump before first VM entry")
    }

    @Test("a repeated encoding or an intervening line of the same CPU starts a new occurrence")
    func occurrences() throws {
        let log = """
            CPU(0x00): VMLAUNCH error
            CPU(0x00): (0x4002) VMCS02.control_VMX_cpu_based = 0x00000001
            CPU(0x00): (0x4402) VMCS02.info_vmexit_reason = 0x00000001
            CPU(0x00): (0x4002) VMCS02.control_VMX_cpu_based = 0x00000002
            CPU(0x01): unrelated line of another CPU
            CPU(0x00): (0x4402) VMCS02.info_vmexit_reason = 0x00000002
            CPU(0x00): VMRESUME error
            CPU(0x00): (0x4002) VMCS02.control_VMX_cpu_based = 0x00000003
            CPU(0x00): (0x4002) guest VMCS12.control_VMX_cpu_based = 0x00000004
            """
        let set = VMCSDumpParser.parse(log)
        let vmcs02 = set.dumps(cpu: 0, kind: .vmcs02)
        #expect(vmcs02.map(\.occurrence) == [0, 1, 2])
        #expect(vmcs02.map(\.fields.count) == [2, 2, 1])
        #expect(vmcs02.map { $0.introducedBy?.text } == ["CPU(0x00): VMLAUNCH error", "CPU(0x00): VMLAUNCH error", "CPU(0x00): VMRESUME error"])
        let vmcs12 = try #require(set.dumps(kind: .vmcs12).first)
        #expect(vmcs12.fields.first?.prefix == "guest ")
        #expect(vmcs12.introducedBy?.number == 7)
    }

    @Test(
        "malformed dump lines are counted and skipped",
        arguments: [
            "CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information = 0x",
            "CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information = 0x8000zz03",
            "CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information 0x80000603",
            "CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information = 0x1234567890abcdef0",
            "CPU(0x00): (0x40167) VMCS02.control_VM_entry_interruption_information = 0x1",
            "CPU(0x00): (0x4016) VMCS03.control_VM_entry_interruption_information = 0x1",
            "CPU(0x00): (0x4016) VMCS02. = 0x1",
            "CPU(0x00): (0x4016) VMCS02.control_VM_entry_interrupti",
            "CPU(0x00): (0x4016) VMCS02.x = unavail",
            "CPU(0xzz): (0x4016) VMCS02.x = 0x1",
        ])
    func malformed(line: String) {
        let set = VMCSDumpParser.parse("CPU(0x00): before\n\(line)\nCPU(0x00): (0x0000) VMCS02.control_vpid = 0x1\n")
        #expect(set.malformedLines == 1)
        #expect(set.malformedLineNumbers == [2])
        #expect(set.dumps.count == 1)
        #expect(set.dumps.first?.fields.count == 1)
    }

    @Test("CRLF, NUL bytes, trailing blanks, an unterminated last line and very long lines")
    func awkwardBytes() {
        var bytes = Array("\0\0CPU(0x00): dump\r\nCPU(0x00): (0x4016) VMCS02.a = 0x1 \r\n".utf8)
        bytes += Array("CPU(0x00): (0x40".utf8) + [0] + Array("18) VMCS02.b = 0x2\r\n".utf8)
        bytes += Array("CPU(0x00): ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 100_000) + [0x0a]
        bytes += Array("CPU(0x00): (0x401a) VMCS02.c = 0x3".utf8)
        var parser = VMCSDumpParser()
        parser.feed(bytes)
        let set = parser.finish()
        #expect(set.malformedLines == 0)
        #expect(set.dumps.count == 2)
        #expect(set.dumps.first?.fields.map(\.value) == [.value(1), .value(2)])
        #expect(set.dumps.last?.fields.first?.encoding == 0x401a)
        #expect(set.dumps.last?.introducedBy?.text.count == SerialScanner.defaultMaxLineLength)
        #expect(set.dumps.last?.introducedBy?.number == 4)
    }

    @Test("writes vmcs.json with sorted keys and reads it back")
    func jsonRoundTrip() throws {
        let set = try VMCSDumpParser.parse(VMCSFixtures.text("good1.txt"))
        let json = try #require(String(data: try set.jsonData(), encoding: .utf8))
        #expect(json.contains(#""encoding" : "0x401a""#))
        #expect(json.contains(#""sdmName" : "VM-entry instruction length""#))
        #expect(json.contains(#""value" : "0x80000603""#))
        #expect(json.contains(#""value" : "unavailable""#))
        // Sorted keys: "cpu" before "fields" before "introducedBy" within a dump.
        let cpu = try #require(json.range(of: #""cpu""#)), fields = try #require(json.range(of: #""fields""#))
        #expect(cpu.lowerBound < fields.lowerBound)

        let dir = try EvidenceTestDirectory()
        let url = dir.url.appendingPathComponent("vmcs.json")
        try set.write(to: url)
        #expect(try VMCSDumpSet(contentsOf: url) == set)
    }

    @Test("parsing a file in chunks gives the same dumps as parsing the string")
    func fileParse() throws {
        let path = VMCSFixtures.directory.appendingPathComponent("bad1.txt").path
        #expect(try VMCSDumpParser.parse(contentsOf: path) == VMCSDumpParser.parse(VMCSFixtures.text("bad1.txt")))
        let missing = #expect(throws: SerialFollowError.self) { try VMCSDumpParser.parse(contentsOf: path + ".missing") }
        #expect(missing?.description.contains("No such file") == true)
    }
}

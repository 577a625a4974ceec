import Testing

@testable import CIRunner

@Suite("VMCS field table")
struct VMCSFieldTests {
    @Test(
        "the seed's encodings map to SDM names, groups and widths",
        arguments: [
            (0x4016, "VM-entry interruption-information field", VMCSFieldGroup.control, VMCSFieldWidth.bits32),
            (0x4018, "VM-entry exception error code", .control, .bits32),
            (0x401a, "VM-entry instruction length", .control, .bits32),
            (0x4408, "IDT-vectoring information field", .exitInformation, .bits32),
            (0x440a, "IDT-vectoring error code", .exitInformation, .bits32),
            (0x440c, "VM-exit instruction length", .exitInformation, .bits32),
            (0x2800, "VMCS link pointer", .guestState, .bits64),
            (0x2026, "VMREAD-bitmap address", .control, .bits64),
            (0x2028, "VMWRITE-bitmap address", .control, .bits64),
            (0x0000, "Virtual-processor identifier (VPID)", .control, .bits16),
        ] as [(UInt16, String, VMCSFieldGroup, VMCSFieldWidth)])
    func seedEncodings(encoding: UInt16, name: String, group: VMCSFieldGroup, width: VMCSFieldWidth) {
        let field = VMCSField(encoding: encoding)
        #expect(field.name == name)
        #expect(field.group == group)
        #expect(field.width == width)
        #expect(field.isKnown)
    }

    @Test(
        "common fields across all groups and widths",
        arguments: [
            (0x0002, "Posted-interrupt notification vector"), (0x0004, "EPTP index"),
            (0x080c, "Guest LDTR selector"), (0x0c0c, "Host TR selector"),
            (0x2000, "Address of I/O bitmap A"), (0x2004, "Address of MSR bitmaps"), (0x200c, "Executive-VMCS pointer"),
            (0x2010, "TSC offset"), (0x2012, "Virtual-APIC address"), (0x2014, "APIC-access address"),
            (0x2018, "VM-function controls"), (0x201a, "EPT pointer (EPTP)"), (0x2024, "EPTP-list address"),
            (0x202c, "XSS-exiting bitmap"), (0x2032, "TSC multiplier"), (0x2400, "Guest-physical address"),
            (0x2806, "Guest IA32_EFER"), (0x2810, "Guest PDPTE3"), (0x2c04, "Host IA32_PERF_GLOBAL_CTRL"),
            (0x401e, "Secondary processor-based VM-execution controls"), (0x4022, "PLE_Window"),
            (0x4402, "Exit reason"), (0x440e, "VM-exit instruction information"),
            (0x4812, "Guest IDTR limit"), (0x4814, "Guest ES access rights"), (0x4822, "Guest TR access rights"),
            (0x4824, "Guest interruptibility state"), (0x482e, "VMX-preemption timer value"),
            (0x4c00, "Host IA32_SYSENTER_CS"), (0x6006, "CR4 read shadow"), (0x600e, "CR3-target value 3"),
            (0x6400, "Exit qualification"), (0x640a, "Guest-linear address"), (0x6806, "Guest ES base"),
            (0x6816, "Guest GDTR base"), (0x6818, "Guest IDTR base"), (0x681a, "Guest DR7"), (0x6826, "Guest IA32_SYSENTER_EIP"),
            (0x6c0e, "Host IDTR base"), (0x6c14, "Host RSP"), (0x6c16, "Host RIP"),
        ] as [(UInt16, String)])
    func commonFields(encoding: UInt16, name: String) {
        #expect(VMCSField(encoding: encoding).name == name)
    }

    @Test("every table entry decodes consistently from its bits")
    func tableIsConsistent() {
        let all = VMCSField.all
        #expect(all.count > 150)
        for field in all {
            // Full encodings only: bit 0 set would be a 64-bit high access or invalid.
            #expect(field.encoding & 1 == 0, "\(field.hexEncoding)")
            #expect(field.encoding & 0x9000 == 0, "reserved bits set in \(field.hexEncoding)")
            let prefix = field.name.prefix(5)
            if prefix == "Guest" { #expect(field.group == .guestState || [0x640a, 0x2400].contains(field.encoding), "\(field.hexEncoding)") }
            if prefix == "Host " { #expect(field.group == .hostState, "\(field.hexEncoding)") }
        }
    }

    @Test("the high half of a 64-bit field and unknown encodings still decode")
    func highAndUnknown() {
        let high = VMCSField(encoding: 0x2027)
        #expect(high.isHighAccess)
        #expect(high.name == "VMREAD-bitmap address (high)")
        #expect(!VMCSField(encoding: 0x4017).isHighAccess)

        let unknown = VMCSField(encoding: 0x4c3e)
        #expect(!unknown.isKnown)
        #expect(unknown.group == .hostState)
        #expect(unknown.width == .bits32)
        #expect(unknown.name == "unknown 32-bit host state field")
        #expect(VMCSField(encoding: 0x6ffe).width == .natural)
        #expect(VMCSField(encoding: 0x6ffe).group == .hostState)
        #expect(VMCSField(encoding: 0x401a).hexEncoding == "0x401a")
    }
}

// The project's table of VMCS field names, after Intel SDM Vol. 3 Appendix B ("Field Encoding
// in VMCS"), cross-checked against the encodings used by KVM, Xen and XMHF64. Only "full"
// encodings are listed; the high half of a 64-bit field (encoding + 1) is derived.

extension VMCSField {
    static let sdmNames: [UInt16: String] = {
        var names: [UInt16: String] = [:]
        for (encoding, name) in table {
            precondition(names[encoding] == nil, "duplicate VMCS encoding \(VMCSField.hex(encoding)) in the table")
            names[encoding] = name
        }
        return names
    }()

    private static let segments = ["ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"]

    /// Encodings in the SDM's order: 16-bit, 64-bit, 32-bit, natural-width; within each,
    /// control, read-only data, guest state, host state.
    private static let table: [(UInt16, String)] = {
        var rows: [(UInt16, String)] = [
            // 16-bit control fields
            (0x0000, "Virtual-processor identifier (VPID)"),
            (0x0002, "Posted-interrupt notification vector"),
            (0x0004, "EPTP index"),
            (0x0006, "HLAT prefix size"),
            (0x0008, "Last PID-pointer index"),
        ]
        // 16-bit guest-state fields: selectors ES..TR at 0x0800 + 2i
        rows += segments.enumerated().map { (UInt16(0x0800 + 2 * $0.offset), "Guest \($0.element) selector") }
        rows += [
            (0x0810, "Guest interrupt status"),
            (0x0812, "PML index"),
            (0x0814, "Guest UINV"),
        ]
        // 16-bit host-state fields: ES, CS, SS, DS, FS, GS, TR (no LDTR on the host side)
        rows += ["ES", "CS", "SS", "DS", "FS", "GS", "TR"].enumerated().map {
            (UInt16(0x0c00 + 2 * $0.offset), "Host \($0.element) selector")
        }
        rows += [
            // 64-bit control fields
            (0x2000, "Address of I/O bitmap A"),
            (0x2002, "Address of I/O bitmap B"),
            (0x2004, "Address of MSR bitmaps"),
            (0x2006, "VM-exit MSR-store address"),
            (0x2008, "VM-exit MSR-load address"),
            (0x200a, "VM-entry MSR-load address"),
            (0x200c, "Executive-VMCS pointer"),
            (0x200e, "PML address"),
            (0x2010, "TSC offset"),
            (0x2012, "Virtual-APIC address"),
            (0x2014, "APIC-access address"),
            (0x2016, "Posted-interrupt descriptor address"),
            (0x2018, "VM-function controls"),
            (0x201a, "EPT pointer (EPTP)"),
            (0x201c, "EOI-exit bitmap 0"),
            (0x201e, "EOI-exit bitmap 1"),
            (0x2020, "EOI-exit bitmap 2"),
            (0x2022, "EOI-exit bitmap 3"),
            (0x2024, "EPTP-list address"),
            (0x2026, "VMREAD-bitmap address"),
            (0x2028, "VMWRITE-bitmap address"),
            (0x202a, "Virtualization-exception information address"),
            (0x202c, "XSS-exiting bitmap"),
            (0x202e, "ENCLS-exiting bitmap"),
            (0x2030, "Sub-page-permission-table pointer"),
            (0x2032, "TSC multiplier"),
            (0x2034, "Tertiary processor-based VM-execution controls"),
            (0x2036, "ENCLV-exiting bitmap"),
            (0x2038, "Low PASID directory address"),
            (0x203a, "High PASID directory address"),
            (0x203c, "Shared EPT pointer"),
            (0x203e, "PCONFIG-exiting bitmap"),
            (0x2040, "Hypervisor-managed linear-address translation pointer"),
            (0x2042, "PID-pointer table address"),
            (0x2044, "Secondary VM-exit controls"),
            // 64-bit read-only data field
            (0x2400, "Guest-physical address"),
            // 64-bit guest-state fields
            (0x2800, "VMCS link pointer"),
            (0x2802, "Guest IA32_DEBUGCTL"),
            (0x2804, "Guest IA32_PAT"),
            (0x2806, "Guest IA32_EFER"),
            (0x2808, "Guest IA32_PERF_GLOBAL_CTRL"),
            (0x280a, "Guest PDPTE0"),
            (0x280c, "Guest PDPTE1"),
            (0x280e, "Guest PDPTE2"),
            (0x2810, "Guest PDPTE3"),
            (0x2812, "Guest IA32_BNDCFGS"),
            (0x2814, "Guest IA32_RTIT_CTL"),
            (0x2816, "Guest IA32_LBR_CTL"),
            (0x2818, "Guest IA32_PKRS"),
            // 64-bit host-state fields
            (0x2c00, "Host IA32_PAT"),
            (0x2c02, "Host IA32_EFER"),
            (0x2c04, "Host IA32_PERF_GLOBAL_CTRL"),
            (0x2c06, "Host IA32_PKRS"),
            // 32-bit control fields
            (0x4000, "Pin-based VM-execution controls"),
            (0x4002, "Primary processor-based VM-execution controls"),
            (0x4004, "Exception bitmap"),
            (0x4006, "Page-fault error-code mask"),
            (0x4008, "Page-fault error-code match"),
            (0x400a, "CR3-target count"),
            (0x400c, "Primary VM-exit controls"),
            (0x400e, "VM-exit MSR-store count"),
            (0x4010, "VM-exit MSR-load count"),
            (0x4012, "VM-entry controls"),
            (0x4014, "VM-entry MSR-load count"),
            (0x4016, "VM-entry interruption-information field"),
            (0x4018, "VM-entry exception error code"),
            (0x401a, "VM-entry instruction length"),
            (0x401c, "TPR threshold"),
            (0x401e, "Secondary processor-based VM-execution controls"),
            (0x4020, "PLE_Gap"),
            (0x4022, "PLE_Window"),
            (0x4024, "Instruction-timeout control"),
            // 32-bit read-only data fields
            (0x4400, "VM-instruction error"),
            (0x4402, "Exit reason"),
            (0x4404, "VM-exit interruption information"),
            (0x4406, "VM-exit interruption error code"),
            (0x4408, "IDT-vectoring information field"),
            (0x440a, "IDT-vectoring error code"),
            (0x440c, "VM-exit instruction length"),
            (0x440e, "VM-exit instruction information"),
        ]
        // 32-bit guest-state fields: limits ES..TR, GDTR, IDTR, then access rights ES..TR
        rows += (segments + ["GDTR", "IDTR"]).enumerated().map { (UInt16(0x4800 + 2 * $0.offset), "Guest \($0.element) limit") }
        rows += segments.enumerated().map { (UInt16(0x4814 + 2 * $0.offset), "Guest \($0.element) access rights") }
        rows += [
            (0x4824, "Guest interruptibility state"),
            (0x4826, "Guest activity state"),
            (0x4828, "Guest SMBASE"),
            (0x482a, "Guest IA32_SYSENTER_CS"),
            (0x482e, "VMX-preemption timer value"),
            // 32-bit host-state field
            (0x4c00, "Host IA32_SYSENTER_CS"),
            // natural-width control fields
            (0x6000, "CR0 guest/host mask"),
            (0x6002, "CR4 guest/host mask"),
            (0x6004, "CR0 read shadow"),
            (0x6006, "CR4 read shadow"),
            (0x6008, "CR3-target value 0"),
            (0x600a, "CR3-target value 1"),
            (0x600c, "CR3-target value 2"),
            (0x600e, "CR3-target value 3"),
            // natural-width read-only data fields
            (0x6400, "Exit qualification"),
            (0x6402, "I/O RCX"),
            (0x6404, "I/O RSI"),
            (0x6406, "I/O RDI"),
            (0x6408, "I/O RIP"),
            (0x640a, "Guest-linear address"),
            // natural-width guest-state fields
            (0x6800, "Guest CR0"),
            (0x6802, "Guest CR3"),
            (0x6804, "Guest CR4"),
        ]
        // Bases ES..TR, then GDTR and IDTR, at 0x6806 + 2i
        rows += (segments + ["GDTR", "IDTR"]).enumerated().map { (UInt16(0x6806 + 2 * $0.offset), "Guest \($0.element) base") }
        rows += [
            (0x681a, "Guest DR7"),
            (0x681c, "Guest RSP"),
            (0x681e, "Guest RIP"),
            (0x6820, "Guest RFLAGS"),
            (0x6822, "Guest pending debug exceptions"),
            (0x6824, "Guest IA32_SYSENTER_ESP"),
            (0x6826, "Guest IA32_SYSENTER_EIP"),
            (0x6828, "Guest IA32_S_CET"),
            (0x682a, "Guest SSP"),
            (0x682c, "Guest IA32_INTERRUPT_SSP_TABLE_ADDR"),
            // natural-width host-state fields
            (0x6c00, "Host CR0"),
            (0x6c02, "Host CR3"),
            (0x6c04, "Host CR4"),
            (0x6c06, "Host FS base"),
            (0x6c08, "Host GS base"),
            (0x6c0a, "Host TR base"),
            (0x6c0c, "Host GDTR base"),
            (0x6c0e, "Host IDTR base"),
            (0x6c10, "Host IA32_SYSENTER_ESP"),
            (0x6c12, "Host IA32_SYSENTER_EIP"),
            (0x6c14, "Host RSP"),
            (0x6c16, "Host RIP"),
            (0x6c18, "Host IA32_S_CET"),
            (0x6c1a, "Host SSP"),
            (0x6c1c, "Host IA32_INTERRUPT_SSP_TABLE_ADDR"),
        ]
        return rows
    }()
}

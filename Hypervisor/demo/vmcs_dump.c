/* VMCS dump in XMHF's line format, one field a line:
 *   CPU(0x00): (0x2800) VMCS01.guest_VMCS_link_pointer_full = 0xffffffffffffffff
 * Values are read back with VMREAD so the dump shows what the CPU holds, not
 * what we meant to write.  Widths: 16-bit fields 4 hex digits, 32-bit 8,
 * 64-bit and natural-width 16 (on both bitnesses, so i386 and amd64 dumps
 * line up).  A field the CPU does not have prints "= unavailable". */
#include "vmcs.h"
#include "serial.h"

struct vmcs_field_name {
    uint16_t enc;
    const char *name;
};

#define F(enc, name) { enc, #name }
static const struct vmcs_field_name fields[] = {
    /* control fields */
    F(VMCS_PIN_BASED_CTLS, control_VMX_pin_based),
    F(VMCS_PROC_BASED_CTLS, control_VMX_cpu_based),
    F(VMCS_PROC_BASED_CTLS2, control_VMX_seccpu_based),
    F(VMCS_EXCEPTION_BITMAP, control_exception_bitmap),
    F(VMCS_PF_ERRCODE_MASK, control_pagefault_errorcode_mask),
    F(VMCS_PF_ERRCODE_MATCH, control_pagefault_errorcode_match),
    F(VMCS_CR3_TARGET_COUNT, control_CR3_target_count),
    F(VMCS_EXIT_CTLS, control_VM_exit_controls),
    F(VMCS_EXIT_MSR_STORE_COUNT, control_VM_exit_MSR_store_count),
    F(VMCS_EXIT_MSR_LOAD_COUNT, control_VM_exit_MSR_load_count),
    F(VMCS_ENTRY_CTLS, control_VM_entry_controls),
    F(VMCS_ENTRY_MSR_LOAD_COUNT, control_VM_entry_MSR_load_count),
    F(VMCS_ENTRY_INTR_INFO, control_VM_entry_interruption_information),
    F(VMCS_ENTRY_EXCEPTION_ERRCODE, control_VM_entry_exception_errorcode),
    F(VMCS_ENTRY_INSTR_LEN, control_VM_entry_instruction_length),
    F(VMCS_CR0_MASK, control_CR0_mask),
    F(VMCS_CR4_MASK, control_CR4_mask),
    F(VMCS_CR0_SHADOW, control_CR0_shadow),
    F(VMCS_CR4_SHADOW, control_CR4_shadow),
    /* host state */
    F(VMCS_HOST_CR0, host_CR0),
    F(VMCS_HOST_CR3, host_CR3),
    F(VMCS_HOST_CR4, host_CR4),
    F(VMCS_HOST_ES_SELECTOR, host_ES_selector),
    F(VMCS_HOST_CS_SELECTOR, host_CS_selector),
    F(VMCS_HOST_SS_SELECTOR, host_SS_selector),
    F(VMCS_HOST_DS_SELECTOR, host_DS_selector),
    F(VMCS_HOST_FS_SELECTOR, host_FS_selector),
    F(VMCS_HOST_GS_SELECTOR, host_GS_selector),
    F(VMCS_HOST_TR_SELECTOR, host_TR_selector),
    F(VMCS_HOST_FS_BASE, host_FS_base),
    F(VMCS_HOST_GS_BASE, host_GS_base),
    F(VMCS_HOST_TR_BASE, host_TR_base),
    F(VMCS_HOST_GDTR_BASE, host_GDTR_base),
    F(VMCS_HOST_IDTR_BASE, host_IDTR_base),
    F(VMCS_HOST_SYSENTER_CS, host_SYSENTER_CS),
    F(VMCS_HOST_SYSENTER_ESP, host_SYSENTER_ESP),
    F(VMCS_HOST_SYSENTER_EIP, host_SYSENTER_EIP),
    F(VMCS_HOST_RSP, host_RSP),
    F(VMCS_HOST_RIP, host_RIP),
    /* guest state */
    F(VMCS_GUEST_CR0, guest_CR0),
    F(VMCS_GUEST_CR3, guest_CR3),
    F(VMCS_GUEST_CR4, guest_CR4),
    F(VMCS_GUEST_DR7, guest_DR7),
    F(VMCS_GUEST_RSP, guest_RSP),
    F(VMCS_GUEST_RIP, guest_RIP),
    F(VMCS_GUEST_RFLAGS, guest_RFLAGS),
    F(VMCS_GUEST_ES_SELECTOR, guest_ES_selector),
    F(VMCS_GUEST_ES_BASE, guest_ES_base),
    F(VMCS_GUEST_ES_LIMIT, guest_ES_limit),
    F(VMCS_GUEST_ES_AR, guest_ES_access_rights),
    F(VMCS_GUEST_CS_SELECTOR, guest_CS_selector),
    F(VMCS_GUEST_CS_BASE, guest_CS_base),
    F(VMCS_GUEST_CS_LIMIT, guest_CS_limit),
    F(VMCS_GUEST_CS_AR, guest_CS_access_rights),
    F(VMCS_GUEST_SS_SELECTOR, guest_SS_selector),
    F(VMCS_GUEST_SS_BASE, guest_SS_base),
    F(VMCS_GUEST_SS_LIMIT, guest_SS_limit),
    F(VMCS_GUEST_SS_AR, guest_SS_access_rights),
    F(VMCS_GUEST_DS_SELECTOR, guest_DS_selector),
    F(VMCS_GUEST_DS_BASE, guest_DS_base),
    F(VMCS_GUEST_DS_LIMIT, guest_DS_limit),
    F(VMCS_GUEST_DS_AR, guest_DS_access_rights),
    F(VMCS_GUEST_FS_SELECTOR, guest_FS_selector),
    F(VMCS_GUEST_FS_BASE, guest_FS_base),
    F(VMCS_GUEST_FS_LIMIT, guest_FS_limit),
    F(VMCS_GUEST_FS_AR, guest_FS_access_rights),
    F(VMCS_GUEST_GS_SELECTOR, guest_GS_selector),
    F(VMCS_GUEST_GS_BASE, guest_GS_base),
    F(VMCS_GUEST_GS_LIMIT, guest_GS_limit),
    F(VMCS_GUEST_GS_AR, guest_GS_access_rights),
    F(VMCS_GUEST_LDTR_SELECTOR, guest_LDTR_selector),
    F(VMCS_GUEST_LDTR_BASE, guest_LDTR_base),
    F(VMCS_GUEST_LDTR_LIMIT, guest_LDTR_limit),
    F(VMCS_GUEST_LDTR_AR, guest_LDTR_access_rights),
    F(VMCS_GUEST_TR_SELECTOR, guest_TR_selector),
    F(VMCS_GUEST_TR_BASE, guest_TR_base),
    F(VMCS_GUEST_TR_LIMIT, guest_TR_limit),
    F(VMCS_GUEST_TR_AR, guest_TR_access_rights),
    F(VMCS_GUEST_GDTR_BASE, guest_GDTR_base),
    F(VMCS_GUEST_GDTR_LIMIT, guest_GDTR_limit),
    F(VMCS_GUEST_IDTR_BASE, guest_IDTR_base),
    F(VMCS_GUEST_IDTR_LIMIT, guest_IDTR_limit),
    F(VMCS_GUEST_INTERRUPTIBILITY, guest_interruptibility),
    F(VMCS_GUEST_ACTIVITY_STATE, guest_activity_state),
    F(VMCS_GUEST_PENDING_DBG, guest_pending_debug_x),
    F(VMCS_GUEST_SYSENTER_CS, guest_SYSENTER_CS),
    F(VMCS_GUEST_SYSENTER_ESP, guest_SYSENTER_ESP),
    F(VMCS_GUEST_SYSENTER_EIP, guest_SYSENTER_EIP),
    F(VMCS_GUEST_VMCS_LINK_POINTER, guest_VMCS_link_pointer_full),
    F(VMCS_GUEST_IA32_DEBUGCTL, guest_IA32_DEBUGCTL_full),
    /* exit information (read-only) */
    F(VMCS_VM_INSTR_ERROR, info_vminstr_error),
    F(VMCS_EXIT_REASON, info_vmexit_reason),
    F(VMCS_EXIT_QUALIFICATION, info_exit_qualification),
    F(VMCS_EXIT_INTR_INFO, info_vmexit_interrupt_information),
    F(VMCS_EXIT_INSTR_LEN, info_vmexit_instruction_length),
};
#undef F

void vmcs_dump(const char *why)
{
    kprintf("CPU(0x00): VMCS dump %s\n", why);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct vmcs_field_name *f = &fields[i];
        uint64_t v;
        bool ok;
        int digits;
        switch (vmcs_field_width(f->enc)) {
        case VMCS_W16:
            digits = 4;
            break;
        case VMCS_W32:
            digits = 8;
            break;
        default:
            digits = 16;
            break;
        }
        if (vmcs_field_width(f->enc) == VMCS_W64) {
            ok = vmcs_read64(f->enc, &v);
        } else {
            ulong n;
            ok = vmread(f->enc, &n);
            v = n;
        }
        kprintf("CPU(0x00): (0x%04x) VMCS01.%s = ", f->enc, f->name);
        if (ok)
            kprintf("0x%0*llx\n", digits, (unsigned long long)v);
        else
            kprintf("unavailable\n");
    }
}

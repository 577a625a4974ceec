/* 64-bit guest-state fields. */
#include "vmcs.h"

void vmcs_write_guest64(struct vmcs_guest64 *g)
{
    /* Every 64-bit guest field starts out as 0 ... */
    g->link_pointer = 0;
    g->debugctl = 0;
    /* ... except the link pointer: minivisor uses no VMCS shadowing, so it
     * must be all ones or VM entry fails on invalid guest state.  Set it
     * the way the i386 build writes it to the VMCS: FULL half, HIGH half. */
    uint32_t *half = (uint32_t *)&g->link_pointer;
    half[0] = 0xffffffffU;      /* VMCS_GUEST_VMCS_LINK_POINTER (FULL) */
    half[1] = 0xffffffffU;      /* VMCS_GUEST_VMCS_LINK_POINTER + 1 (HIGH) */

    vmcs_write64(VMCS_GUEST_VMCS_LINK_POINTER, g->link_pointer);
    vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, g->debugctl);
}

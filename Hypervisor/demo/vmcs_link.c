/* 64-bit guest-state fields. */
#include "vmcs.h"

void vmcs_write_guest64(struct vmcs_guest64 *g)
{
    /* Every 64-bit guest field starts out as 0 ... */
    g->link_pointer = 0;
    g->debugctl = 0;
    /* ... except the link pointer: minivisor uses no VMCS shadowing, so it
     * must be all ones or VM entry fails on invalid guest state. */
    g->link_pointer = VMCS_LINK_POINTER_NONE;

    vmcs_write64(VMCS_GUEST_VMCS_LINK_POINTER, g->link_pointer);
    vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, g->debugctl);
}

#ifndef MV_VMX_H
#define MV_VMX_H
#include "cpu.h"

/* Guest general-purpose registers while the host runs; RSP/RIP live in the
 * VMCS.  Layout is shared with vmx_entry.S. */
struct guest_regs {
    ulong ax, bx, cx, dx, si, di, bp;
#ifdef __x86_64__
    ulong r8, r9, r10, r11, r12, r13, r14, r15;
#endif
};
extern struct guest_regs guest_regs;

/* vmx_entry.S: enter the guest (VMLAUNCH, or VMRESUME if resume != 0) and
 * return on the next VM exit.  Returns 0 after a VM exit, 1 on VMfailInvalid,
 * 2 on VMfailValid. */
int vmx_run(int resume);
void vmexit_entry(void);        /* HOST_RIP */
void guest_entry(void);         /* GUEST_RIP */

/* guest.c */
#define GUEST_ROUNDS 20
void guest_main(void) __attribute__((noreturn));

/* vmx.c */
void vmx_main(void) __attribute__((noreturn));

#endif

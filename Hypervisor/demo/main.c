/* minivisor: a minimal VMX hypervisor that runs a tiny guest of its own. */
#include "cpu.h"
#include "serial.h"
#include "vmx.h"

#ifndef MV_BITS
#define MV_BITS "unknown"
#endif
#ifndef MV_OPT
#define MV_OPT ""
#endif

uint8_t host_tss[104] __attribute__((aligned(16)));

/* A VM exit loads TR from the host-state area, which must name a real,
 * non-null TSS descriptor: install one in GDT slot 0x18 and load it. */
static void tss_install(void)
{
    uint64_t base = (uintptr_t)host_tss;
    uint64_t limit = sizeof(host_tss) - 1;
    uint64_t d = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) /* present, available TSS */
               | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[SEL_TSS / 8] = d;
    gdt[SEL_TSS / 8 + 1] = base >> 32;  /* high half of a 64-bit TSS descriptor; unused on i386 */
    ltr(SEL_TSS);
}

void kmain(void)
{
    serial_init();
    kprintf("\nminivisor v1.0 (%s, %s)\n", MV_BITS, MV_OPT);
    tss_install();
    vmx_main();
}

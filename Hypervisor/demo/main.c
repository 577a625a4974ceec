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


/* Descriptor tables at fixed addresses (first in .bss after boot.S's, see
 * minivisor.ld): separate statics would be ordered differently at -O0 and
 * -O2, and host_TR_base appears in the VMCS dump. */
static struct {
    uint64_t idt[32 * 2];
    uint8_t tss[104];
} desc_mem __attribute__((aligned(16), section(".bss.desc")));
#define idt desc_mem.idt
uint8_t *const host_tss = desc_mem.tss;

/* A VM exit loads TR from the host-state area, which must name a real,
 * non-null TSS descriptor: install one in GDT slot 0x18 and load it. */
static void tss_install(void)
{
    uint64_t base = (uintptr_t)host_tss;
    uint64_t limit = HOST_TSS_SIZE - 1;
    uint64_t d = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) /* present, available TSS */
               | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[SEL_TSS / 8] = d;
    gdt[SEL_TSS / 8 + 1] = base >> 32;  /* high half of a 64-bit TSS descriptor; unused on i386 */
    ltr(SEL_TSS);
}

/* IDT for the host's exceptions (32 vectors; no interrupts are ever enabled). */
extern const ulong isr_table[32];

static void idt_install(void)
{
    for (int v = 0; v < 32; v++) {
        uint64_t off = isr_table[v];
        /* present, DPL 0, interrupt gate (0x8e), code selector */
        uint64_t lo = (off & 0xffff) | ((uint64_t)SEL_CODE << 16) | (0x8eULL << 40)
                    | (((off >> 16) & 0xffff) << 48);
#ifdef __x86_64__
        idt[2 * v] = lo;
        idt[2 * v + 1] = off >> 32;
#else
        idt[v] = lo;
#endif
    }
    struct desc_ptr p;
#ifdef __x86_64__
    p.limit = 32 * 16 - 1;
#else
    p.limit = 32 * 8 - 1;
#endif
    p.base = (ulong)idt;
    asm volatile("lidt %0" :: "m"(p));
}

/* Called from isr.S with the stub's frame: vector, error code, then what
 * the CPU pushed (RIP, CS, RFLAGS, ...). */
void exception_handler(const ulong *frame) __attribute__((noreturn));
void exception_handler(const ulong *frame)
{
    kprintf("CPU(0x00): unhandled exception 0x%02lx, error code 0x%lx, RIP 0x%lx, CR2 0x%lx\n",
            frame[0], frame[1], frame[2], read_cr2());
    fatal_halt();
}

void kmain(void)
{
    serial_init();
    kprintf("\nminivisor v1.0 (%s, %s)\n", MV_BITS, MV_OPT);
    idt_install();
    tss_install();
    vmx_main();
}

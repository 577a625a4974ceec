/* VMX bring-up, VMCS setup for a guest of our own, and the VM-exit loop. */
#include "vmx.h"
#include "vmcs.h"
#include "serial.h"

#define MSR_IA32_FEATURE_CONTROL        0x03a
#define MSR_IA32_VMX_BASIC              0x480
#define MSR_IA32_VMX_PINBASED_CTLS      0x481
#define MSR_IA32_VMX_PROCBASED_CTLS     0x482
#define MSR_IA32_VMX_EXIT_CTLS          0x483
#define MSR_IA32_VMX_ENTRY_CTLS         0x484
#define MSR_IA32_VMX_CR0_FIXED0         0x486
#define MSR_IA32_VMX_CR0_FIXED1         0x487
#define MSR_IA32_VMX_CR4_FIXED0         0x488
#define MSR_IA32_VMX_CR4_FIXED1         0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2    0x48b
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS     0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS    0x490

#define FEATURE_CONTROL_LOCK            (1u << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1u << 2)
#define CR4_VMXE                        (1ul << 13)

#define PROC_HLT_EXITING                (1u << 7)
#define PROC_UNCOND_IO_EXITING          (1u << 24)
#define PROC_ACTIVATE_SECONDARY         (1u << 31)
#define EXIT_HOST_ADDR_SPACE_SIZE       (1u << 9)
#define ENTRY_IA32E_MODE_GUEST          (1u << 9)

#define EXIT_REASON_TRIPLE_FAULT        2
#define EXIT_REASON_CPUID               10
#define EXIT_REASON_HLT                 12
#define EXIT_REASON_VMCALL              18
#define EXIT_REASON_IO                  30
#define EXIT_REASON_ENTRY_FAILURE       (1u << 31)

/* Access rights: type | S<<4 | DPL<<5 | P<<7 | L<<13 | D/B<<14 | G<<15 */
#define AR_CODE32       0xc09b
#define AR_CODE64       0xa09b
#define AR_DATA         0xc093
#define AR_TSS_BUSY     0x008b
#define AR_UNUSABLE     0x10000

/* One object in its own section, placed first in .bss by minivisor.ld:
 * GCC orders separate statics differently at -O0 and -O2, and these
 * addresses show up in the VMCS dump (host_RSP, guest_RSP). */
static struct {
    uint8_t vmxon_region[4096];
    uint8_t vmcs_region[4096];
    uint8_t host_exit_stack[4096];
    uint8_t guest_stack[16384];
} vmx_mem __attribute__((aligned(4096), section(".bss.vmx")));
#define vmxon_region    vmx_mem.vmxon_region
#define vmcs_region     vmx_mem.vmcs_region
#define host_exit_stack vmx_mem.host_exit_stack
#define guest_stack     vmx_mem.guest_stack
static struct vmcs_guest64 guest64;

struct guest_regs guest_regs;

static void vmx_fail(const char *what)
{
    kprintf("CPU(0x00): %s. Halting!\n", what);
    fatal_halt();
}

/* Controls: the low half of a capability MSR holds the bits that must be 1,
 * the high half the bits that may be 1.  Returns the adjusted value, or
 * halts if a bit we need is not allowed. */
static uint32_t vmx_adjust_ctls(uint32_t msr, uint32_t want, const char *name)
{
    uint64_t cap = rdmsr(msr);
    uint32_t v = (want | (uint32_t)cap) & (uint32_t)(cap >> 32);
    if ((v & want) != want) {
        kprintf("CPU(0x00): %s: needed bits 0x%08x not allowed (MSR 0x%x = 0x%016llx). Halting!\n",
                name, want & ~v, msr, (unsigned long long)cap);
        fatal_halt();
    }
    return v;
}

static uint64_t phys(const void *p)
{
    return (uint64_t)(uintptr_t)p;     /* identity mapped */
}

static void vmx_on(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 5))) {
        kprintf("CPU(0x00): does not support VMX. Halting!\n");
        halt_forever();
    }

    /* The BIOS normally locks IA32_FEATURE_CONTROL; if it did not, enable
     * VMX outside SMX and lock it ourselves (VMXON faults while unlocked). */
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK)) {
        fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
    }
    if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
        vmx_fail("VMX is disabled in IA32_FEATURE_CONTROL");

    /* CR0/CR4 must respect the fixed bits in VMX operation; CR4.VMXE is one of them. */
    ulong cr0 = read_cr0();
    cr0 |= (ulong)rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    cr0 &= (ulong)rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    write_cr0(cr0);
    ulong cr4 = read_cr4() | CR4_VMXE;
    cr4 |= (ulong)rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    cr4 &= (ulong)rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    write_cr4(cr4);

    uint32_t revision = (uint32_t)rdmsr(MSR_IA32_VMX_BASIC) & 0x7fffffff;
    *(uint32_t *)vmxon_region = revision;
    *(uint32_t *)vmcs_region = revision;

    uint64_t pa = phys(vmxon_region);
    bool bad;
    asm volatile("vmxon %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
    if (bad)
        vmx_fail("VMXON failed");
    pa = phys(vmcs_region);
    asm volatile("vmclear %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
    if (bad)
        vmx_fail("VMCLEAR failed");
    asm volatile("vmptrld %1; setna %0" : "=qm"(bad) : "m"(pa) : "cc", "memory");
    if (bad)
        vmx_fail("VMPTRLD failed");
    kprintf("CPU(0x00): VMXON ok, VMCS revision 0x%08x\n", revision);
}

static void vmcs_setup_controls(void)
{
    /* Bit 55 of IA32_VMX_BASIC: the TRUE_* MSRs exist and allow clearing
     * some default-1 controls (e.g. CR3-load exiting). */
    bool true_ctls = (rdmsr(MSR_IA32_VMX_BASIC) >> 55) & 1;
    uint32_t pin = vmx_adjust_ctls(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
                                   0, "pin-based controls");
    /* HLT and all I/O exit; CPUID and VMCALL always exit.  The secondary
     * controls are activated (if possible) but left at 0, only to show the
     * field in the dump. */
    uint32_t proc_want = PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING;
    uint64_t proc_cap = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
    bool have_proc2 = (proc_cap >> 32) & PROC_ACTIVATE_SECONDARY;
    if (have_proc2)
        proc_want |= PROC_ACTIVATE_SECONDARY;
    uint32_t proc = vmx_adjust_ctls(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS,
                                    proc_want, "processor-based controls");
#ifdef __x86_64__
    uint32_t exit_want = EXIT_HOST_ADDR_SPACE_SIZE;     /* return to a 64-bit host */
    uint32_t entry_want = ENTRY_IA32E_MODE_GUEST;       /* 64-bit guest */
#else
    uint32_t exit_want = 0, entry_want = 0;
#endif
    uint32_t exit = vmx_adjust_ctls(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
                                    exit_want, "VM-exit controls");
    uint32_t entry = vmx_adjust_ctls(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
                                     entry_want, "VM-entry controls");

    vmwrite(VMCS_PIN_BASED_CTLS, pin);
    vmwrite(VMCS_PROC_BASED_CTLS, proc);
    if (have_proc2)
        vmwrite(VMCS_PROC_BASED_CTLS2, vmx_adjust_ctls(MSR_IA32_VMX_PROCBASED_CTLS2, 0, "secondary controls"));
    vmwrite(VMCS_EXIT_CTLS, exit);
    vmwrite(VMCS_ENTRY_CTLS, entry);
    vmwrite(VMCS_EXCEPTION_BITMAP, 0);
    vmwrite(VMCS_PF_ERRCODE_MASK, 0);
    vmwrite(VMCS_PF_ERRCODE_MATCH, 0);
    vmwrite(VMCS_CR3_TARGET_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_ENTRY_EXCEPTION_ERRCODE, 0);
    vmwrite(VMCS_ENTRY_INSTR_LEN, 0);
    /* The guest owns CR0/CR4: no bits are host-owned. */
    vmwrite(VMCS_CR0_MASK, 0);
    vmwrite(VMCS_CR4_MASK, 0);
    vmwrite(VMCS_CR0_SHADOW, 0);
    vmwrite(VMCS_CR4_SHADOW, 0);
}

static void vmcs_setup_host(void)
{
    struct desc_ptr gdtr, idtr;
    sgdt(&gdtr);
    sidt(&idtr);
    vmwrite(VMCS_HOST_CR0, read_cr0());
    vmwrite(VMCS_HOST_CR3, read_cr3());
    vmwrite(VMCS_HOST_CR4, read_cr4());
    vmwrite(VMCS_HOST_ES_SELECTOR, SEL_DATA);
    vmwrite(VMCS_HOST_CS_SELECTOR, SEL_CODE);
    vmwrite(VMCS_HOST_SS_SELECTOR, SEL_DATA);
    vmwrite(VMCS_HOST_DS_SELECTOR, SEL_DATA);
    vmwrite(VMCS_HOST_FS_SELECTOR, SEL_DATA);
    vmwrite(VMCS_HOST_GS_SELECTOR, SEL_DATA);
    vmwrite(VMCS_HOST_TR_SELECTOR, SEL_TSS);
    vmwrite(VMCS_HOST_FS_BASE, 0);
    vmwrite(VMCS_HOST_GS_BASE, 0);
    vmwrite(VMCS_HOST_TR_BASE, (ulong)host_tss);
    vmwrite(VMCS_HOST_GDTR_BASE, gdtr.base);
    vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
    vmwrite(VMCS_HOST_SYSENTER_CS, 0);
    vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
    vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
    vmwrite(VMCS_HOST_RSP, (ulong)(host_exit_stack + sizeof(host_exit_stack)));
    vmwrite(VMCS_HOST_RIP, (ulong)vmexit_entry);
}

static void guest_segment(uint32_t sel_enc, uint16_t sel, uint32_t ar)
{
    /* Selector, base, limit and access-rights encodings are at fixed
     * distances from each other for ES..GS. */
    uint32_t i = sel_enc - VMCS_GUEST_ES_SELECTOR;
    vmwrite(sel_enc, sel);
    vmwrite(VMCS_GUEST_ES_BASE + i, 0);
    vmwrite(VMCS_GUEST_ES_LIMIT + i, 0xffffffff);
    vmwrite(VMCS_GUEST_ES_AR + i, ar);
}

static void vmcs_setup_guest(void)
{
    struct desc_ptr gdtr;
    sgdt(&gdtr);
    /* The guest runs on the host's identity page tables, GDT and TSS, in
     * ring 0: 32-bit protected mode on i386, 64-bit mode on amd64. */
    vmwrite(VMCS_GUEST_CR0, read_cr0());
    vmwrite(VMCS_GUEST_CR3, read_cr3());
    vmwrite(VMCS_GUEST_CR4, read_cr4());
    vmwrite(VMCS_GUEST_DR7, 0x400);
    vmwrite(VMCS_GUEST_RSP, (ulong)(guest_stack + sizeof(guest_stack)));
    vmwrite(VMCS_GUEST_RIP, (ulong)guest_entry);
    vmwrite(VMCS_GUEST_RFLAGS, 0x2);    /* interrupts off */
    guest_segment(VMCS_GUEST_ES_SELECTOR, SEL_DATA, AR_DATA);
#ifdef __x86_64__
    guest_segment(VMCS_GUEST_CS_SELECTOR, SEL_CODE, AR_CODE64);
#else
    guest_segment(VMCS_GUEST_CS_SELECTOR, SEL_CODE, AR_CODE32);
#endif
    guest_segment(VMCS_GUEST_SS_SELECTOR, SEL_DATA, AR_DATA);
    guest_segment(VMCS_GUEST_DS_SELECTOR, SEL_DATA, AR_DATA);
    guest_segment(VMCS_GUEST_FS_SELECTOR, SEL_DATA, AR_DATA);
    guest_segment(VMCS_GUEST_GS_SELECTOR, SEL_DATA, AR_DATA);
    vmwrite(VMCS_GUEST_LDTR_SELECTOR, 0);
    vmwrite(VMCS_GUEST_LDTR_BASE, 0);
    vmwrite(VMCS_GUEST_LDTR_LIMIT, 0);
    vmwrite(VMCS_GUEST_LDTR_AR, AR_UNUSABLE);
    vmwrite(VMCS_GUEST_TR_SELECTOR, SEL_TSS);
    vmwrite(VMCS_GUEST_TR_BASE, (ulong)host_tss);
    vmwrite(VMCS_GUEST_TR_LIMIT, HOST_TSS_SIZE - 1);
    vmwrite(VMCS_GUEST_TR_AR, AR_TSS_BUSY);
    vmwrite(VMCS_GUEST_GDTR_BASE, gdtr.base);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, gdtr.limit);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
    vmcs_write_guest64(&guest64);
}

static void skip_instruction(void)
{
    vmwrite(VMCS_GUEST_RIP, vmread_nat(VMCS_GUEST_RIP) + vmread_nat(VMCS_EXIT_INSTR_LEN));
}

/* Unconditional I/O exiting: perform the guest's IN/OUT on the real port.
 * Exit qualification: size-1 in bits 2:0, IN in bit 3, string in bit 4,
 * port in bits 31:16. */
static bool emulate_io(ulong qual)
{
    uint16_t port = (uint16_t)(qual >> 16);
    unsigned size = (qual & 7) + 1;
    bool in = qual & 8;
    if (qual & 0x10)
        return false;                   /* INS/OUTS: the guest never uses them */
    ulong *ax = &guest_regs.ax;
    if (in) {
        ulong v = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
        ulong mask = size == 4 ? 0xffffffffUL : ((1UL << (8 * size)) - 1);
        /* A 32-bit IN zero-extends into RAX; smaller ones merge. */
        *ax = size == 4 ? v : ((*ax & ~mask) | v);
    } else if (size == 1) {
        outb(port, (uint8_t)*ax);
    } else if (size == 2) {
        outw(port, (uint16_t)*ax);
    } else {
        outl(port, (uint32_t)*ax);
    }
    return true;
}

static void power_off(void)
{
    /* qemu's isa-debug-exit (iobase 0xf4): exits qemu with status 1. */
    outl(0xf4, 0);
    /* Bochs' shutdown port: the string "Shutdown" written to 0x8900 makes
     * Bochs quit.  Both ports are unused on PC hardware we care about. */
    for (const char *s = "Shutdown"; *s; s++)
        outb(0x8900, (uint8_t)*s);
    halt_forever();
}

static void entry_failed(const char *insn, int rc)
{
    if (rc == 2)
        kprintf("CPU(0x00): %s error: VM-instruction error %u\n", insn,
                (unsigned)vmread_nat(VMCS_VM_INSTR_ERROR));
    else
        kprintf("CPU(0x00): %s error: VMfailInvalid\n", insn);
    vmcs_dump("after VM-entry failure");
    fatal_halt();
}

void vmx_main(void)
{
    vmx_on();
    vmcs_setup_controls();
    vmcs_setup_host();
    vmcs_setup_guest();
    vmcs_dump("before first VM entry");

    unsigned iter = 0, cpuid_exits = 0, hlt_exits = 0, io_exits = 0;
    int resume = 0;
    for (;;) {
        int rc = vmx_run(resume);
        if (rc != 0)
            entry_failed(resume ? "VMRESUME" : "VMLAUNCH", rc);
        resume = 1;

        uint32_t reason = (uint32_t)vmread_nat(VMCS_EXIT_REASON);
        ulong qual = vmread_nat(VMCS_EXIT_QUALIFICATION);
        if (reason & EXIT_REASON_ENTRY_FAILURE) {
            kprintf("CPU(0x00): VM-ENTRY error: reason=0x%08x, qualification=0x%lx\n", reason, qual);
            vmcs_dump("after VM-entry failure");
            fatal_halt();
        }

        switch (reason & 0xffff) {
        case EXIT_REASON_VMCALL:
            /* The guest passes its round number in EAX: a lost or repeated
             * round trip shows up as a mismatch. */
            iter++;
            if ((uint32_t)guest_regs.ax != iter) {
                kprintf("CPU(0x00): minivisor: guest round %u, expected %u. Halting!\n",
                        (unsigned)guest_regs.ax, iter);
                fatal_halt();
            }
            kprintf("CPU(0x00): minivisor test iter %u\n", iter);
            if (iter == GUEST_ROUNDS) {
                if (!cpuid_exits || !hlt_exits || !io_exits) {
                    kprintf("CPU(0x00): minivisor: missing exits (cpuid %u, hlt %u, io %u). Halting!\n",
                            cpuid_exits, hlt_exits, io_exits);
                    fatal_halt();
                }
                kprintf("CPU(0x00): minivisor: all %u rounds passed\n", iter);
                power_off();
            }
            break;
        case EXIT_REASON_CPUID: {
            uint32_t a, b, c, d;
            cpuid((uint32_t)guest_regs.ax, (uint32_t)guest_regs.cx, &a, &b, &c, &d);
            guest_regs.ax = a;
            guest_regs.bx = b;
            guest_regs.cx = c;
            guest_regs.dx = d;
            cpuid_exits++;
            break;
        }
        case EXIT_REASON_HLT:
            /* Nothing will wake the guest up: treat HLT as a no-op. */
            hlt_exits++;
            break;
        case EXIT_REASON_IO:
            if (!emulate_io(qual))
                goto unexpected;
            io_exits++;
            break;
        default:
        unexpected:
            kprintf("CPU(0x00): unexpected VM exit: reason=0x%08x, qualification=0x%lx\n", reason, qual);
            vmcs_dump("after unexpected VM exit");
            fatal_halt();
        }
        skip_instruction();
    }
}

/*
 * `vmcs` / `vmcs2` modes: print a VMCS dump in XMHF64's line format,
 *   CPU(0x00): (0x4000) VMCS01.control_VMX_pin_based = 0x0000003f
 * with one field, guest_VMCS_link_pointer_full, computed through undefined
 * behaviour that the optimizer exploits (see link_pointer()). At -O0/-O1 the
 * dump looks healthy and the run passes; at -O2/-O3/-Os the link pointer is
 * stale, the "VM entry" fails and a second dump is printed: the situation
 * nestci's dump diffing exists for.
 */
#include "fixture.h"

#define LINK_OK 0xffffffffffffffffULL
#define NLINES 64
#define LINELEN 112

struct field {
	u16 enc;
	const char *name;
	u64 value;
	int available;
};

struct vmcs12_shadow {
	u64 link_pointer;
	u64 pad;
};

static struct vmcs12_shadow shadow[MAX_CPUS];
static u8 io_bitmap_a[4096] __attribute__((aligned(4096)));

/*
 * The bug, on purpose: the 64-bit field is written through two 32-bit
 * halves and read back as 64 bits. Accessing a u64 through u32 lvalues
 * breaks strict aliasing, so with -fstrict-aliasing (on from -O2) gcc 12 may
 * assume the stores do not touch the u64 and returns the earlier value 0.
 * Measured with gcc 12.2: -O0/-O1 give all ones, -O2/-O3/-Os give 0, on both
 * i386 and amd64. noinline keeps the pattern self-contained and stable.
 * -fno-strict-aliasing would restore the -O0 behaviour; do not add it.
 */
static u64 __attribute__((noinline)) link_pointer(struct vmcs12_shadow *v)
{
	u32 *half = (u32 *)&v->link_pointer;
	v->link_pointer = 0;
	half[0] = 0xffffffffU;
	half[1] = 0xffffffffU;
	return v->link_pointer;
}

/* Width from the encoding's bits 14:13 (16-bit, 64-bit, 32-bit, natural);
 * natural width is printed with 16 digits on both BITS, as requested. */
static int field_digits(u16 enc)
{
	static const int digits[4] = { 4, 16, 8, 16 };
	return digits[(enc >> 13) & 3];
}

static int build_fields(struct field *f, u32 cpu, int failed, u64 link)
{
	u16 cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	int n = 0;
#define F(e, nm, v) f[n++] = (struct field){ (e), (nm), (v), 1 }
	F(0x0000, "control_vpid", cpu + 1);
	F(0x0800, "guest_ES_selector", 0);
	F(0x0802, "guest_CS_selector", 0);
	F(0x0c02, "host_CS_selector", cs);
	F(0x2000, "control_IO_BitmapA_address_full", (uintptr_t)io_bitmap_a);
	F(0x2800, "guest_VMCS_link_pointer_full", link);
	F(0x4000, "control_VMX_pin_based", 0x0000003f);
	F(0x4002, "control_VMX_cpu_based", 0x86006172);
	F(0x4012, "control_VM_entry_controls", 0x000011ff);
	F(0x4016, "control_VM_entry_interruption_information", 0);
	f[n++] = (struct field){ 0x401a, "control_VM_entry_instruction_length", 0, 0 };
	F(0x4402, "info_vmexit_reason", failed ? 0x80000021 : 0);
	F(0x4800, "guest_ES_limit", 0x0000ffff);
	F(0x6800, "guest_CR0", 0x30);
	F(0x681e, "guest_RIP", BOOTSECT_ADDR);
	F(0x6c00, "host_CR0", read_cr0());
	F(0x6c02, "host_CR3", read_cr3());
	F(0x6c04, "host_CR4", read_cr4());
	F(0x6c14, "host_RSP", read_sp());		/* varies: a real stack pointer */
	F(0x6c16, "host_RIP", (uintptr_t)&build_fields);
#undef F
	return n;
}

static char lines[2][NLINES][LINELEN];
static int nlines[2];

#define L(cpu) (nlines[cpu] < NLINES ? lines[cpu][nlines[cpu]++] : lines[cpu][NLINES - 1])

static void add_dump(u32 cpu, u32 slot, const char *why, int failed, u64 link)
{
	struct field f[32];
	int n = build_fields(f, cpu, failed, link);
	snfmt(L(slot), LINELEN, "CPU(0x%02x): VMCS dump %s", cpu, why);
	for (int i = 0; i < n; i++) {
		if (f[i].available)
			snfmt(L(slot), LINELEN, "CPU(0x%02x): (0x%04x) VMCS01.%s = 0x%0*llx", cpu,
			      f[i].enc, f[i].name, field_digits(f[i].enc), (unsigned long long)f[i].value);
		else
			snfmt(L(slot), LINELEN, "CPU(0x%02x): (0x%04x) VMCS01.%s = unavailable", cpu,
			      f[i].enc, f[i].name);
	}
}

/* All the lines one CPU prints; returns whether its "VM entry" worked. */
static int build_lines(u32 cpu, u32 slot)
{
	u64 link = link_pointer(&shadow[cpu]);
	nlines[slot] = 0;
	add_dump(cpu, slot, "before first VM entry", 0, link);
	if (link == LINK_OK) {
		for (int i = 1; i <= 5; i++)
			snfmt(L(slot), LINELEN, "CPU(0x%02x): fixture iter %d", cpu, i);
		return 1;
	}
	snfmt(L(slot), LINELEN, "CPU(0x%02x): VM-ENTRY error: reason=0x80000021, qualification=0x%016llx",
	      cpu, 0ULL);
	add_dump(cpu, slot, "after VM-entry failure", 1, link);
	return 0;
}

void mode_vmcs(void)
{
	int ok = build_lines(0, 0);
	for (int i = 0; i < nlines[0]; i++)
		putline(lines[0][i]);
	putline(ok ? "FIXTURE PASS" : "HALT!");
	finish();
}

/* vmcs2: CPU 0 and CPU 1 each build their own dump and print it, taking
 * turns line by line (turn 2k+c is CPU c's k-th line), so the two dumps
 * interleave strictly: CPU(0x00), CPU(0x01), CPU(0x00), ... */
static volatile u32 turn;
static volatile u32 vmcs2_ok = 1;

static void print_alternating(u32 slot)
{
	for (int k = 0; k < nlines[slot]; k++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 2u * (u32)k + slot)
			cpu_relax();
		putline(lines[slot][k]);
		__atomic_add_fetch(&turn, 1, __ATOMIC_ACQ_REL);
	}
}

void vmcs2_cpu(u32 cpu, u32 ncpus)
{
	if (cpu > 1)
		return;		/* only two CPUs take part */
	if (!build_lines(cpu, cpu))
		vmcs2_ok = 0;
	print_alternating(cpu);
}

void mode_vmcs2(void)
{
	u32 n = smp_start(cmdline_u32("cpus", 0));
	smp_go();
	if (n >= 2) {
		vmcs2_cpu(0, n);
		smp_barrier_done();
	} else {
		/* Single CPU: print both dumps ourselves, same text. */
		int ok0 = build_lines(0, 0), ok1 = build_lines(1, 1);
		vmcs2_ok = ok0 && ok1;
		for (int k = 0; k < NLINES; k++)
			for (int c = 0; c < 2; c++)
				if (k < nlines[c])
					putline(lines[c][k]);
	}
	putline(vmcs2_ok ? "FIXTURE PASS" : "HALT!");
	finish();
}

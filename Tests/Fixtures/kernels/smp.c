/*
 * SMP bring-up through the local APIC (INIT-SIPI-SIPI to all-excluding-self)
 * and the `smp` mode: every CPU prints its own iteration lines.
 *
 * APs start in real mode at AP_TRAMP_ADDR, switch to 32-bit protected mode
 * (boot.S) and, in the amd64 build, to long mode with the BSP's page tables,
 * so every CPU runs the same 64-bit C code there.
 */
#include "fixture.h"

#define LAPIC_BASE   0xfee00000UL
#define LAPIC_SVR    0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

static volatile u32 cpus_online = 1;	/* BSP counts itself */
static volatile u32 ncpus;		/* frozen by smp_go */
static volatile u32 go;
static volatile u32 cpus_done;

static inline volatile u32 *lapic(u32 reg)
{
	return (volatile u32 *)(LAPIC_BASE + reg);
}

static void icr_send(u32 lo)
{
	while (*lapic(LAPIC_ICR_LO) & (1u << 12))	/* delivery pending */
		cpu_relax();
	*lapic(LAPIC_ICR_HI) = 0;
	*lapic(LAPIC_ICR_LO) = lo;
	while (*lapic(LAPIC_ICR_LO) & (1u << 12))
		cpu_relax();
}

/* want = expected CPU count from cpus=N (0: unknown, count whoever answers
 * within 200 ms). Returns the number of CPUs that checked in. */
u32 smp_start(u32 want)
{
	size_t len = (size_t)(ap_tramp_end - ap_tramp_start);
	memcpy((void *)(uintptr_t)AP_TRAMP_ADDR, ap_tramp_start, len);

	*lapic(LAPIC_SVR) |= 0x100;			/* software-enable the APIC */
	icr_send(0x000c4500);				/* INIT, all excluding self */
	pit_delay_us(10000);
	icr_send(0x000c4600 | (AP_TRAMP_ADDR >> 12));	/* SIPI */
	pit_delay_us(200);
	icr_send(0x000c4600 | (AP_TRAMP_ADDR >> 12));	/* second SIPI, as the MP spec says */

	if (want > MAX_CPUS)
		want = MAX_CPUS;
	if (want) {
		/* Up to 5 s for slow emulators; stop as soon as all are in. */
		for (int i = 0; i < 5000 && cpus_online < want; i++)
			pit_delay_us(1000);
	} else {
		pit_delay_us(200000);
	}
	return cpus_online;
}

/* Freeze the count and release the APs. A late AP beyond the count parks. */
void smp_go(void)
{
	ncpus = cpus_online;
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
}

void smp_ap_done(void)
{
	__atomic_add_fetch(&cpus_done, 1, __ATOMIC_ACQ_REL);
}

void smp_barrier_done(void)
{
	while (__atomic_load_n(&cpus_done, __ATOMIC_ACQUIRE) + 1 < ncpus)
		cpu_relax();
}

static u32 iters;

static void iter_lines(u32 cpu)
{
	for (u32 n = 1; n <= iters; n++)
		println("CPU(0x%02x): fixture iter %u", cpu, n);
}

void ap_main(u32 index)
{
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		cpu_relax();
	if (index < ncpus) {
		if (mode[0] == 'v')
			vmcs2_cpu(index, ncpus);
		else
			iter_lines(index);
		smp_ap_done();
	}
	halt_forever();
}

void mode_smp(void)
{
	u32 want = cmdline_u32("cpus", 0);
	iters = cmdline_u32("iters", 25);
	u32 n = smp_start(want);
	if (want && n < want) {
		/* A fail marker must not be followed by a pass marker. */
		println("Fatal: only %u of %u CPUs checked in", n, want);
		finish();
	}
	smp_go();
	iter_lines(0);
	smp_barrier_done();
	putline("FIXTURE SMP DONE");
	finish();
}

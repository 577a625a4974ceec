/*
 * nestci fixture kernel: one multiboot image, behaviour picked by mode= on
 * the command line so that one build per (BITS, OPT) serves every test.
 * Lines imitate XMHF64's serial console (see README.md for the exact text).
 */
#include "fixture.h"

const char *mode = "";
static char mode_buf[32];
static u32 exit_value;

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* End of a mode that halts: optionally make qemu exit (isa-debug-exit at
 * 0xf4, qemu status = (value << 1) | 1) so tests need not wait for a timeout. */
void finish(void)
{
	if (exit_value)
		outl(0xf4, exit_value);
	halt_forever();
}

static void mode_pass(void)
{
	for (int i = 1; i <= 5; i++)
		println("CPU(0x00): fixture iter %d", i);
	putline("FIXTURE PASS");
	finish();
}

static void mode_fail(void)
{
	putline("CPU(0x00): fixture starting");
	putline("CPU(0x00): fixture iter 1");
	putline("Fatal: Halting! Condition 'fixture_ok' failed, line 42, file fixture.c");
	finish();
}

/* An IDT with limit 0: int3 cannot be delivered (#GP), nor can #GP (#DF),
 * nor #DF: triple fault, i.e. reset or, with qemu -no-reboot, exit. */
static void mode_triple(void)
{
	static const struct __attribute__((packed)) {
		u16 limit;
		uintptr_t base;
	} empty_idt = { 0, 0 };
	putline("about to triple fault");
	__asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
	halt_forever();
}

/* A guest stuck printing: numbered 100-byte lines as fast as the UART takes them,
 * forever, or `lines=N` of them and then FIXTURE PASS. Tests bounded memory and disk. */
static void mode_flood(void)
{
	u32 lines = cmdline_u32("lines", 0);
	for (u32 i = 1; lines == 0 || i <= lines; i++)
		println("CPU(0x00): flood line %u xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
	putline("FIXTURE PASS");
	finish();
}

void kmain(void);
void kmain(void)
{
	struct mb_info *mbi = (struct mb_info *)(uintptr_t)mb_info;
	serial_init();
	if (mb_magic == 0x2BADB002 && (mbi->flags & MB_INFO_CMDLINE))
		cmdline_init((const char *)(uintptr_t)mbi->cmdline);
	if (cmdline_get("mode", mode_buf, sizeof mode_buf))
		mode = mode_buf;
	exit_value = cmdline_u32("exit", 0);

	/* A guest that dies without a single byte of output. */
	if (streq(mode, "silent"))
		halt_forever();

	println("fixture kernel (%s, %s) mode=%s", FIXTURE_BITS, FIXTURE_OPT, mode);
	if (mb_magic != 0x2BADB002)
		println("Fatal: not loaded by a multiboot loader (eax=0x%08x)", mb_magic);

	if (streq(mode, "pass"))
		mode_pass();
	else if (streq(mode, "fail"))
		mode_fail();
	else if (streq(mode, "triple"))
		mode_triple();
	else if (streq(mode, "hang")) {
		putline("hanging now");
		spin_forever();
	} else if (streq(mode, "smp"))
		mode_smp();
	else if (streq(mode, "vmcs"))
		mode_vmcs();
	else if (streq(mode, "vmcs2"))
		mode_vmcs2();
	else if (streq(mode, "chain"))
		mode_chain();
	else if (streq(mode, "flood"))
		mode_flood();
	putline("Fatal: unknown mode");
	finish();
}

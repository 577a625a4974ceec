/*
 * `chain` mode: the first level of an XMHF-style two-disk chain. GRUB gives
 * us the next disk's boot sector as module 0 (`module --nounzip (hd1)+1`);
 * we put it at 0000:7c00, return the CPU to real mode with the BIOS IVT and
 * jump to it with DL = 0x81 (or drive=), so the second disk's GRUB boots
 * its own kernel.
 * Everything GRUB left below 1 MiB (IVT, BIOS data area, EBDA) is untouched
 * except the 512 bytes at 0x7c00 and the small stub at RM_STUB_ADDR.
 */
#include "fixture.h"

void mode_chain(void)
{
	struct mb_info *mbi = (struct mb_info *)(uintptr_t)mb_info;
	if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count < 1) {
		putline("Fatal: chain: no module (want the next disk's boot sector)");
		halt_forever();
	}
	struct mb_module *mod = (struct mb_module *)(uintptr_t)mbi->mods_addr;
	u32 size = mod->mod_end - mod->mod_start;
	if (size < 512) {
		println("Fatal: chain: module is %u bytes, want 512", size);
		halt_forever();
	}
	const u8 *sector = (const u8 *)(uintptr_t)mod->mod_start;
	if (sector[510] != 0x55 || sector[511] != 0xaa) {
		putline("Fatal: chain: module has no 0x55aa boot signature");
		halt_forever();
	}
	/* level= only labels the line (default 1) for chains deeper than two. */
	println("CPU(0x00): chain level %u handing over", cmdline_u32("level", 1));
	/* memmove: GRUB may have put the module anywhere, even overlapping. */
	memmove((void *)(uintptr_t)BOOTSECT_ADDR, sector, 512);
	/* drive= picks the BIOS drive of the next level (0x81 = second disk; a
	 * level-2 kernel of a three-disk chain would pass drive=0x82). */
	u32 drive = cmdline_u32("drive", 0x81);
	u8 *stub = (u8 *)(uintptr_t)RM_STUB_ADDR;
	memcpy(stub, rm_stub_start, (size_t)(rm_stub_end - rm_stub_start));
	stub[rm_drive - rm_stub_start] = (u8)drive;
	realmode_handover();
}

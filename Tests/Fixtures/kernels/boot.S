/*
 * Entry, GDT, long-mode trampoline (amd64), AP start-up trampoline and the
 * real-mode hand-over stub of chain mode. One file for both BITS: the 32-bit
 * parts are .code32 in either object, the amd64 build adds the paging set-up.
 */
#include "fixture.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003	/* page-align modules, give memory info */

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text
	.code32
	.globl _start
_start:
	cli
	cld
	movl	$bsp_stack_top, %esp
	movl	%eax, mb_magic
	movl	%ebx, mb_info
	/* Own GDT: GRUB's and qemu's are somewhere we might overwrite. */
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
#ifdef __x86_64__
	call	build_page_tables
	xorl	%edi, %edi		/* 0 = BSP */
	jmp	enter_long_mode
#else
	call	kmain
	jmp	halt32
#endif

/* APs land here from the real-mode trampoline, in flat 32-bit protected
 * mode with the kernel GDT loaded. Each takes the next index and stack. */
	.globl ap_entry32
ap_entry32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	$1, %eax
	lock xaddl %eax, ap_next_index
	cmpl	$MAX_CPUS, %eax
	jae	halt32			/* more CPUs than stacks: park it */
	movl	%eax, %edi
	movl	%eax, %ecx
	incl	%ecx
	imull	$AP_STACK_SIZE, %ecx
	leal	ap_stacks(%ecx), %esp
#ifdef __x86_64__
	jmp	enter_long_mode
#else
	pushl	%edi
	call	ap_main
	jmp	halt32
#endif

halt32:
	cli
	hlt
	jmp	halt32

#ifdef __x86_64__
/* Identity-map the first 4 GiB with 2 MiB pages (covers the kernel, low
 * memory and the local APIC at 0xfee00000; the top GiB is uncached). */
build_page_tables:
	movl	$pdpt, %eax
	orl	$0x3, %eax
	movl	%eax, pml4
	xorl	%ecx, %ecx
1:	movl	%ecx, %eax
	shll	$12, %eax
	addl	$pd, %eax
	orl	$0x3, %eax
	movl	%eax, pdpt(,%ecx,8)
	incl	%ecx
	cmpl	$4, %ecx
	jb	1b
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax		/* present, writable, 2 MiB */
	cmpl	$1536, %ecx
	jb	3f
	orl	$0x18, %eax		/* PCD|PWT for 3-4 GiB (APIC, MMIO) */
3:	movl	%eax, pd(,%ecx,8)
	incl	%ecx
	cmpl	$2048, %ecx
	jb	2b
	ret

/* %edi = CPU index (0 = BSP), %esp = its stack. Used by BSP and APs. */
enter_long_mode:
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$0xc0000080, %ecx	/* EFER */
	rdmsr
	orl	$0x100, %eax		/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax	/* PG | PE */
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $long_mode64

	.code64
long_mode64:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	%esp, %esp		/* upper halves are undefined after the switch */
	movl	%edi, %edi
	testl	%edi, %edi
	jnz	1f
	call	kmain
	jmp	halt64
1:	call	ap_main
halt64:
	cli
	hlt
	jmp	halt64

/* chain mode, amd64: leave long mode through a 32-bit compatibility-mode
 * segment (paging off clears LMA, then EFER.LME), then share the 32-bit path. */
	.globl realmode_handover
realmode_handover:
	cli
	pushq	$SEL_CODE32
	pushq	$leave_long_mode32
	lretq
	.code32
leave_long_mode32:
	movl	%cr0, %eax
	andl	$0x7fffffff, %eax	/* PG off: identity-mapped, so we keep running */
	movl	%eax, %cr0
	movl	$0xc0000080, %ecx
	rdmsr
	andl	$~0x100, %eax		/* LME off */
	wrmsr
	movl	%cr4, %eax
	andl	$~0x20, %eax		/* PAE off */
	movl	%eax, %cr4
	xorl	%eax, %eax
	movl	%eax, %cr3
	jmp	handover32
#else
	.globl realmode_handover
realmode_handover:
	cli
	jmp	handover32
#endif

	.code32
handover32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	/* Into the copy below 1 MiB, as 16-bit protected-mode code. */
	ljmp	$SEL_CODE16, $(RM_STUB_ADDR + rm_pm16 - rm_stub_start)

/*
 * Real-mode hand-over stub, copied to RM_STUB_ADDR by chain.c. Entered in
 * 16-bit protected mode with base-0 segments; drops to real mode, restores
 * the BIOS IVT and jumps to the next disk's boot sector at 0000:7c00 with
 * DL = rm_drive (default 0x81, the second BIOS disk), as the BIOS would.
 */
#define RM(x) (RM_STUB_ADDR + (x) - rm_stub_start)
	.globl rm_stub_start, rm_stub_end
	.code16
rm_stub_start:
rm_pm16:
	movw	$SEL_DATA16, %ax	/* 64 KiB limits: what real mode expects cached */
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	%cr0, %eax
	andl	$0x7ffffffe, %eax	/* PE and PG off */
	movl	%eax, %cr0
	ljmp	$0, $RM(rm_real)
rm_real:
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movw	$BOOTSECT_ADDR, %sp
	lidt	RM(rm_ivt_desc)
	movb	RM(rm_drive), %dl
	sti
	ljmp	$0, $BOOTSECT_ADDR
	.globl rm_drive
rm_drive:
	.byte	0x81		/* patched in the copy by chain.c (drive=) */
	.align 4
rm_ivt_desc:
	.word	0x3ff
	.long	0
rm_stub_end:

/*
 * AP start-up trampoline, copied to AP_TRAMP_ADDR by smp.c. The SIPI
 * starts APs at 0800:0000 in real mode; switch to flat 32-bit protected
 * mode with the kernel GDT and continue in the kernel image at 1 MiB.
 */
#define TR(x) (AP_TRAMP_ADDR + (x) - ap_tramp_start)
	.globl ap_tramp_start, ap_tramp_end
	.code16
ap_tramp_start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	TR(ap_tramp_gdtr)
	movl	%cr0, %eax
	andl	$~0x60000000, %eax	/* INIT leaves caches off (CD|NW): turn them on */
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_entry32
	.align 4
ap_tramp_gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
ap_tramp_end:

	.section .data
	.align 16
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08 code32 flat */
	.quad	0x00cf92000000ffff	/* 0x10 data flat */
	.quad	0x00af9a000000ffff	/* 0x18 code64 */
	.quad	0x00009a000000ffff	/* 0x20 code16, base 0, 64 KiB */
	.quad	0x000092000000ffff	/* 0x28 data16, base 0, 64 KiB */
gdt_end:
	.align 4
	.word	0
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

	.globl mb_magic, mb_info, ap_next_index
	.align 4
mb_magic:	.long 0
mb_info:	.long 0
ap_next_index:	.long 1		/* 0 is the BSP */

	.section .bss
	.align 4096
#ifdef __x86_64__
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
#endif
	.align 16
bsp_stack:	.skip 16384
bsp_stack_top:
	.globl ap_stacks
ap_stacks:	.skip MAX_CPUS * AP_STACK_SIZE

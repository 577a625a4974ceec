/*
 * Multiboot (v1) entry.  Both builds start here in 32-bit protected mode
 * (that is all a multiboot loader provides).  The i386 build turns on paging
 * with 4 MiB pages; the amd64 build builds 2 MiB identity page tables, enables
 * PAE + EFER.LME + paging and far-jumps into 64-bit code.  Paging is needed in
 * both cases: VMXON requires CR0.PG=1 (IA32_VMX_CR0_FIXED0), and the guest
 * shares these identity page tables.
 */
#define MB_MAGIC        0x1BADB002
/* bit 0: page-align modules, bit 1: memory info, bit 16: address fields valid
 * (the a.out kludge; lets qemu -kernel load the amd64 build, which is not ELF32). */
#define MB_FLAGS        0x00010003

#define GDT_CODE        0x08
#define GDT_DATA        0x10
/* The first far jump runs before long mode is active: it needs a 32-bit
 * code segment, which on amd64 is the extra descriptor at 0x28. */
#ifdef __x86_64__
#define GDT_CODE32      0x28
#else
#define GDT_CODE32      0x08
#endif

        .section .multiboot, "a"
        .align 4
mb_header:
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)
        .long mb_header         /* header_addr */
        .long __load_start      /* load_addr */
        .long __load_end        /* load_end_addr */
        .long __bss_end         /* bss_end_addr */
        .long mb_entry          /* entry_addr */

        .section .text.boot, "ax"
        .code32
        .globl mb_entry
mb_entry:
        cli
        cld
        movl $boot_stack_top, %esp
        movl %eax, mb_magic
        movl %ebx, mb_info

        /* Our own GDT: the loader's GDTR may point anywhere. */
        lgdt gdt_ptr
        ljmp $GDT_CODE32, $1f
1:      movw $GDT_DATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs

#ifdef __x86_64__
        /* PML4[0] -> PDPT; PDPT[0..3] -> 4 page directories of 2 MiB pages:
         * identity map of the low 4 GiB. */
        movl $pdpt, %eax
        orl $0x3, %eax
        movl %eax, pml4
        movl $pd, %eax
        orl $0x3, %eax
        movl $pdpt, %edi
        movl $4, %ecx
2:      movl %eax, (%edi)
        movl $0, 4(%edi)
        addl $0x1000, %eax
        addl $8, %edi
        loop 2b
        movl $pd, %edi
        movl $0x83, %eax                /* present, writable, 2 MiB page */
        xorl %edx, %edx                 /* high half of the physical address */
        movl $2048, %ecx
3:      movl %eax, (%edi)
        movl %edx, 4(%edi)
        addl $0x200000, %eax
        adcl $0, %edx
        addl $8, %edi
        loop 3b

        movl %cr4, %eax
        orl $0x20, %eax                 /* CR4.PAE */
        movl %eax, %cr4
        movl $pml4, %eax
        movl %eax, %cr3
        movl $0xC0000080, %ecx          /* IA32_EFER */
        rdmsr
        orl $0x100, %eax                /* LME */
        wrmsr
        movl %cr0, %eax
        orl $0x80000021, %eax           /* PG | NE | PE */
        movl %eax, %cr0
        ljmp $GDT_CODE, $long_mode

        .code64
long_mode:
        movw $GDT_DATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
        movq $boot_stack_top, %rsp
        call kmain
        .globl halt_forever
halt_forever:
        cli
        hlt
        jmp halt_forever
#else
        /* 1024 PDEs of 4 MiB pages: identity map of all 4 GiB. */
        movl $page_dir, %edi
        movl $0x83, %eax                /* present, writable, 4 MiB page */
        movl $1024, %ecx
2:      movl %eax, (%edi)
        addl $0x400000, %eax
        addl $4, %edi
        loop 2b
        movl %cr4, %eax
        orl $0x10, %eax                 /* CR4.PSE */
        movl %eax, %cr4
        movl $page_dir, %eax
        movl %eax, %cr3
        movl %cr0, %eax
        orl $0x80000021, %eax           /* PG | NE | PE */
        movl %eax, %cr0
        call kmain
        .globl halt_forever
halt_forever:
        cli
        hlt
        jmp halt_forever
#endif

/* GDT: 0x08 code (64-bit on amd64), 0x10 data, 0x18 TSS (filled in by C:
 * VM exits need a non-null host TR), 0x28 a 32-bit code segment used for the
 * first far jump of the amd64 build (long mode is not active yet). */
        .data
        .align 16
        .globl gdt
gdt:
        .quad 0
#ifdef __x86_64__
        .quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
#else
        .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, 4 GiB */
#endif
        .quad 0x00cf92000000ffff        /* 0x10: data, 4 GiB */
        .quad 0                         /* 0x18: TSS (low) */
        .quad 0                         /* 0x20: TSS (high half on amd64) */
        .quad 0x00cf9a000000ffff        /* 0x28: 32-bit code */
        .globl gdt_end
gdt_end:
        .globl gdt_ptr
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt                       /* lgdt in 32-bit mode reads 4 bytes of base */
        .long 0

        .globl mb_magic, mb_info
mb_magic: .long 0
mb_info:  .long 0

        .bss
        .align 4096
#ifdef __x86_64__
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096 * 4
#else
page_dir: .skip 4096
#endif
        .align 16
boot_stack:
        .skip 16384
boot_stack_top:

        /* No executable stack needed. */
        .section .note.GNU-stack, "", @progbits

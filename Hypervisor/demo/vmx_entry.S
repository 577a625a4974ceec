/*
 * World switch.  vmx_run() saves the host's callee-saved registers and stack
 * pointer, loads the guest's GPRs and enters the guest.  A VM exit lands in
 * vmexit_entry on its own small stack (HOST_RSP is fixed, so the VMCS dump
 * before the first entry shows the real value), stores the guest's GPRs and
 * returns from vmx_run() to its C caller as if it were an ordinary call.
 */
#ifdef __x86_64__
#define W 8
#define AX %rax
#define BX %rbx
#define CX %rcx
#define DX %rdx
#define SI %rsi
#define DI %rdi
#define BP %rbp
#define SP %rsp
#else
#define W 4
#define AX %eax
#define BX %ebx
#define CX %ecx
#define DX %edx
#define SI %esi
#define DI %edi
#define BP %ebp
#define SP %esp
#endif

        .section .text.boot, "ax"
        .globl vmx_run
vmx_run:
#ifdef __x86_64__
        push %rbp
        push %rbx
        push %r12
        push %r13
        push %r14
        push %r15
        mov %edi, %eax                  /* resume flag */
#else
        push %ebp
        push %ebx
        push %esi
        push %edi
        mov 20(%esp), %eax              /* resume flag */
#endif
        mov SP, host_saved_sp
        test %eax, %eax
        /* MOVs leave the flags alone, so the test above still decides
         * between VMLAUNCH and VMRESUME after the guest GPRs are loaded. */
#ifdef __x86_64__
        mov guest_regs+7*W, %r8
        mov guest_regs+8*W, %r9
        mov guest_regs+9*W, %r10
        mov guest_regs+10*W, %r11
        mov guest_regs+11*W, %r12
        mov guest_regs+12*W, %r13
        mov guest_regs+13*W, %r14
        mov guest_regs+14*W, %r15
#endif
        mov guest_regs+0*W, AX
        mov guest_regs+1*W, BX
        mov guest_regs+2*W, CX
        mov guest_regs+3*W, DX
        mov guest_regs+4*W, SI
        mov guest_regs+5*W, DI
        mov guest_regs+6*W, BP
        jnz 1f
        vmlaunch
        jmp 2f
1:      vmresume
2:      /* Still here: the instruction failed.  CF=1 VMfailInvalid, ZF=1 VMfailValid. */
        mov $1, %eax
        jc vmx_run_return
        mov $2, %eax
        jmp vmx_run_return

        .globl vmexit_entry
vmexit_entry:
        mov AX, guest_regs+0*W
        mov BX, guest_regs+1*W
        mov CX, guest_regs+2*W
        mov DX, guest_regs+3*W
        mov SI, guest_regs+4*W
        mov DI, guest_regs+5*W
        mov BP, guest_regs+6*W
#ifdef __x86_64__
        mov %r8, guest_regs+7*W
        mov %r9, guest_regs+8*W
        mov %r10, guest_regs+9*W
        mov %r11, guest_regs+10*W
        mov %r12, guest_regs+11*W
        mov %r13, guest_regs+12*W
        mov %r14, guest_regs+13*W
        mov %r15, guest_regs+14*W
#endif
        xor %eax, %eax
vmx_run_return:
        mov host_saved_sp, SP
#ifdef __x86_64__
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbx
        pop %rbp
#else
        pop %edi
        pop %esi
        pop %ebx
        pop %ebp
#endif
        ret

        /* The guest starts here with its own stack (GUEST_RSP, 16-byte
         * aligned, so the call leaves the ABI's alignment at guest_main). */
        .globl guest_entry
guest_entry:
        call guest_main
3:      hlt
        jmp 3b

        .data
        .align W
host_saved_sp:
        .skip W

        .section .note.GNU-stack, "", @progbits

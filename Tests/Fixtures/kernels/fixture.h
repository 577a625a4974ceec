/* Shared declarations of the nestci fixture kernel (C and assembly). */
#ifndef FIXTURE_H
#define FIXTURE_H

/* GDT selectors, laid out in boot.S. */
#define SEL_CODE32 0x08
#define SEL_DATA   0x10
#define SEL_CODE64 0x18
#define SEL_CODE16 0x20
#define SEL_DATA16 0x28

/* Below-1-MiB landing spots. 0x8000 is the AP trampoline (SIPI vector 0x08);
 * 0x7000 the real-mode hand-over stub of chain mode, between the BIOS data
 * area (ends 0x500) and the boot sector at 0x7c00. */
#define AP_TRAMP_ADDR  0x8000
#define RM_STUB_ADDR   0x7000
#define BOOTSECT_ADDR  0x7c00

#define MAX_CPUS      8
#define AP_STACK_SIZE 16384

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* boot.S */
extern u32 mb_magic, mb_info;
extern char ap_tramp_start[], ap_tramp_end[];
extern char rm_stub_start[], rm_stub_end[], rm_drive[];
extern volatile u32 ap_next_index;
void realmode_handover(void) __attribute__((noreturn));

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline uintptr_t read_sp(void)
{
	uintptr_t sp;
#ifdef __x86_64__
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#else
	__asm__ volatile("mov %%esp, %0" : "=r"(sp));
#endif
	return sp;
}

static inline uintptr_t read_cr0(void) { uintptr_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uintptr_t read_cr3(void) { uintptr_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uintptr_t read_cr4(void) { uintptr_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }

/* lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int vsnfmt(char *buf, size_t size, const char *fmt, va_list ap);
int snfmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void halt_forever(void) __attribute__((noreturn));
void spin_forever(void) __attribute__((noreturn));
void pit_delay_us(u32 us);

/* serial.c: every line goes out whole under one lock, so lines of different
 * CPUs never interleave mid-line. */
void serial_init(void);
void println(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void putline(const char *line);

/* cmdline.c */
void cmdline_init(const char *cmdline);
const char *cmdline_get(const char *key, char *buf, size_t size);
u32 cmdline_u32(const char *key, u32 dflt);

/* fixture.c */
extern const char *mode;
void finish(void) __attribute__((noreturn));

/* smp.c */
u32 smp_start(u32 want);             /* returns number of CPUs (>= 1) running */
void smp_go(void);
void smp_barrier_done(void);         /* BSP: wait until every AP called smp_ap_done */
void smp_ap_done(void);
void ap_main(u32 index) __attribute__((noreturn));
void mode_smp(void) __attribute__((noreturn));

/* vmcs.c */
void mode_vmcs(void) __attribute__((noreturn));
void mode_vmcs2(void) __attribute__((noreturn));
void vmcs2_cpu(u32 cpu, u32 ncpus);

/* chain.c */
void mode_chain(void) __attribute__((noreturn));

/* multiboot v1 info, the fields we read */
struct mb_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
};
struct mb_module {
	u32 mod_start, mod_end, string, reserved;
};
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)

#endif /* __ASSEMBLER__ */
#endif

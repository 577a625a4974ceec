/* Freestanding helpers: types and the few privileged instructions we need. */
#ifndef MV_CPU_H
#define MV_CPU_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef unsigned long ulong;    /* natural width: 32 bits on i386, 64 on amd64 */

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

#define DEFINE_CR(n) \
    static inline ulong read_cr##n(void) { ulong v; asm volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
    static inline void write_cr##n(ulong v) { asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    ulong base;
};

static inline void sgdt(struct desc_ptr *p) { asm volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct desc_ptr *p) { asm volatile("sidt %0" : "=m"(*p)); }
static inline void ltr(uint16_t sel) { asm volatile("ltr %0" :: "r"(sel) : "memory"); }

/* boot.S */
extern uint64_t gdt[];
extern char gdt_end[];
void halt_forever(void) __attribute__((noreturn));

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS  0x18

/* 32-bit and 64-bit TSS are both 104 bytes; only its existence matters. */
#define HOST_TSS_SIZE 104
extern uint8_t *const host_tss;

#endif

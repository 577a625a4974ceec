/* The guest: ring 0 code of our own, on the host's page tables, in its own
 * stack.  Each round ends with a VMCALL carrying the round number; rounds
 * also run CPUID, print through COM1 (IN/OUT exits) or HLT, so all four
 * exit kinds the host handles are exercised. */
#include "vmx.h"
#include "serial.h"

static inline void guest_vmcall(uint32_t round)
{
    asm volatile("vmcall" :: "a"(round) : "memory");
}

void guest_main(void)
{
    for (uint32_t round = 1; round <= GUEST_ROUNDS; round++) {
        switch (round % 4) {
        case 1: {
            uint32_t a, b, c, d;
            cpuid(0, 0, &a, &b, &c, &d);
            break;
        }
        case 2:
            kprintf("minivisor guest: round %u says hello through emulated COM1\n", round);
            break;
        case 3:
            asm volatile("hlt" ::: "memory");
            break;
        default:
            break;
        }
        guest_vmcall(round);
    }
    /* The host powers off after the last round; never fall off the end. */
    for (;;)
        asm volatile("hlt" ::: "memory");
}

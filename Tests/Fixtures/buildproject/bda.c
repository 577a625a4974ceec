#include "bda.h"

/*
 * Reads the BIOS data area at a constant address below 4096, as XMHF64 does
 * (e.g. *(volatile u16 *)0x54). GCC 12 at -O2/-O3/-Os reports this as
 * "array subscript 0 is outside array bounds" (GCC bug 104657), fatal under -Werror.
 * Only compiled here: main never calls it in a hosted process.
 */
unsigned short bda_com1_port(void)
{
    return *(volatile unsigned short *)0x400;
}

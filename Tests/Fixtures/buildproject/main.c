#include <stdio.h>
#include <string.h>
#include "bda.h"

int main(int argc, char **argv)
{
    /* Reading the BIOS data area only makes sense on bare metal, never here. */
    if (argc > 1 && strcmp(argv[1], "--bare-metal") == 0)
        return bda_com1_port() == 0x3f8 ? 0 : 1;
    printf("buildproject %s, %zu-bit\n", REVISION, sizeof(void *) * 8);
    return 0;
}

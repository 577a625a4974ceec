#ifndef BDA_H
#define BDA_H

/* The COM1 port base the BIOS stored in its data area (real mode address 0x400). */
unsigned short bda_com1_port(void);

#endif

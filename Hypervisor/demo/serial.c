/* COM1 at 115200 8n1, polled.  The guest prints through the same code; its
 * IN/OUT instructions then become VM exits that the host emulates. */
#include "serial.h"

uint16_t com1_base = 0x3f8;

/* BIOS data area word 0: I/O base of the first serial port. */
#define BDA_COM1 0x400

void serial_init(void)
{
    /* Read the port base the BIOS found, like XMHF does.  GCC 12 at
     * -O2/-O3/-Os reports this constant-address access as "array subscript 0
     * is outside array bounds" (bug 104657); builds pass -Wno-array-bounds.
     * The warning is kept on purpose: nestci's flag policy must cope with it. */
    uint16_t base = *(volatile uint16_t *)BDA_COM1;
    if (base != 0)
        com1_base = base;

    outb(com1_base + 1, 0x00);  /* no interrupts: we poll */
    outb(com1_base + 3, 0x80);  /* DLAB on */
    outb(com1_base + 0, 0x01);  /* divisor 1 = 115200 baud */
    outb(com1_base + 1, 0x00);
    outb(com1_base + 3, 0x03);  /* 8 data bits, no parity, 1 stop bit, DLAB off */
    outb(com1_base + 2, 0xc7);  /* FIFO on, cleared, 14-byte threshold */
    outb(com1_base + 4, 0x03);  /* DTR + RTS; OUT2 off so the UART never raises an IRQ */
}

void serial_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    /* Bounded wait for "transmit holding register empty": a missing UART
     * (reads 0xff) or a stuck one must not hang the run. */
    for (int i = 0; i < 100000; i++)
        if (inb(com1_base + 5) & 0x20)
            break;
    outb(com1_base, (uint8_t)c);
}

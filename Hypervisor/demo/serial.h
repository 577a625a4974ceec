#ifndef MV_SERIAL_H
#define MV_SERIAL_H
#include "cpu.h"

extern uint16_t com1_base;
void serial_init(void);
void serial_putc(char c);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "HALT!" and stop this CPU for good. */
void fatal_halt(void) __attribute__((noreturn));

#endif

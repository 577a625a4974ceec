/* A small printf: %c %s %d %u %x with optional '0' flag, width (or *) and l/ll.
 * Decimal conversions are 32-bit only so the i386 build needs no 64-bit
 * division helpers; hex handles 64-bit values with shifts. */
#include <stdarg.h>
#include "serial.h"

static void put_num(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;
    const char *digits = "0123456789abcdef";

    if (base == 16) {
        do { buf[n++] = digits[v & 0xf]; v >>= 4; } while (v);
    } else {
        uint32_t w = (uint32_t)v;
        do { buf[n++] = digits[w % 10]; w /= 10; } while (w);
    }
    while (n < width && n < (int)sizeof(buf))
        buf[n++] = pad;
    while (n > 0)
        serial_putc(buf[--n]);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            serial_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, longs = 0;
        if (*fmt == '0') { pad = '0'; fmt++; }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') { longs++; fmt++; }
        uint64_t v;
        switch (*fmt) {
        case 'c':
            serial_putc((char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                serial_putc(*s++);
            break;
        }
        case 'd': {
            long d = longs ? va_arg(ap, long) : va_arg(ap, int);
            if (d < 0) { serial_putc('-'); d = -d; }
            put_num((uint64_t)d, 10, width, pad);
            break;
        }
        case 'u':
        case 'x':
            if (longs >= 2)
                v = va_arg(ap, unsigned long long);
            else if (longs == 1)
                v = va_arg(ap, unsigned long);
            else
                v = va_arg(ap, unsigned int);
            put_num(v, *fmt == 'x' ? 16 : 10, width, pad);
            break;
        case '%':
            serial_putc('%');
            break;
        case '\0':
            va_end(ap);
            return;
        default:
            serial_putc('%');
            serial_putc(*fmt);
        }
    }
    va_end(ap);
}

void fatal_halt(void)
{
    kprintf("HALT!\n");
    halt_forever();
}

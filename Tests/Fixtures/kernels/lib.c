/* Freestanding bits: mem*, a small printf-like formatter, delays, halting. */
#include "fixture.h"

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	if (dp < sp) {
		while (n--)
			*dp++ = *sp++;
	} else {
		while (n--)
			dp[n] = sp[n];
	}
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u8 *dp = d;
	while (n--)
		*dp++ = (u8)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

/* Hex by shifting and decimal by 32-bit division only: no libgcc helpers
 * (__udivdi3) on i386. */
static void put_num(struct out *o, u64 v, int base, int width, char pad)
{
	char tmp[24];
	int n = 0;
	if (base == 16) {
		do {
			tmp[n++] = "0123456789abcdef"[v & 0xf];
			v >>= 4;
		} while (v);
	} else {
		u32 w = (u32)v;
		do {
			tmp[n++] = (char)('0' + w % 10);
			w /= 10;
		} while (w);
	}
	while (width-- > n)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

/* Supports %s %c %% and %[0][width|*][l|ll]{d,u,x}. Enough for the fixture. */
int vsnfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longs = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		u64 v;
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = (int)strlen(s);
			while (width-- > len)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			long long sv = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
			if (sv < 0) {
				put(&o, '-');
				sv = -sv;
			}
			put_num(&o, (u64)sv, 10, width, pad);
			break;
		}
		case 'u':
		case 'x':
			v = longs >= 2 ? va_arg(ap, unsigned long long) : longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			put_num(&o, v, *fmt == 'x' ? 16 : 10, width, pad);
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '?');
			break;
		}
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
	return (int)o.len;
}

int snfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Busy, interrupts off, never halts: what a wedged hypervisor looks like. */
void spin_forever(void)
{
	__asm__ volatile("cli");
	for (;;)
		cpu_relax();
}

/* PIT channel 2 one-shot (mode 0), polled through port 0x61 bit 5. Both qemu
 * and Bochs tie the PIT to emulated time, so this is a real delay there. */
void pit_delay_us(u32 us)
{
	while (us) {
		u32 chunk = us > 50000 ? 50000 : us;
		u32 count = chunk * 1193 / 1000 + 1;
		us -= chunk;
		outb(0x61, (inb(0x61) & ~0x02) | 0x01);	/* gate on, speaker off */
		outb(0x43, 0xb0);			/* ch2, lo/hi, mode 0 */
		outb(0x42, count & 0xff);
		outb(0x42, (count >> 8) & 0xff);
		while (!(inb(0x61) & 0x20))
			cpu_relax();
	}
}

/* key=value words of the multiboot command line. Both qemu (-kernel/-append)
 * and GRUB put the kernel's file name first; words without '=' are ignored. */
#include "fixture.h"

/* Copied: the loader's copy may lie below 1 MiB where the AP trampoline
 * or the chain stub goes. */
static char cmdline[256];

void cmdline_init(const char *src)
{
	size_t i = 0;
	if (src)
		for (; src[i] && i + 1 < sizeof cmdline; i++)
			cmdline[i] = src[i];
	cmdline[i] = 0;
}

const char *cmdline_get(const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) > klen && w[klen] == '=' && !memcmp(w, key, klen)) {
			size_t n = (size_t)(p - w) - klen - 1;
			if (n >= size)
				n = size - 1;
			memcpy(buf, w + klen + 1, n);
			buf[n] = 0;
			return buf;
		}
	}
	return NULL;
}

/* Decimal, or hex with 0x; dflt when absent or malformed. */
u32 cmdline_u32(const char *key, u32 dflt)
{
	char buf[16];
	if (!cmdline_get(key, buf, sizeof buf) || !buf[0])
		return dflt;
	u32 v = 0, base = 10;
	const char *p = buf;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return dflt;
	}
	for (; *p; p++) {
		u32 d;
		if (*p >= '0' && *p <= '9')
			d = (u32)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (u32)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (u32)(*p - 'A' + 10);
		else
			return dflt;
		v = v * base + d;
	}
	return v;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pure headers of host/ and guest/ (*_calc.h, policy_parse.h)
 * take from the kernel, for a userspace build: types, errno, 64-bit
 * division, min/max, pages, sort() (bsearch() is libc's, with the
 * kernel's arguments) and the few string helpers. shim/linux/ maps
 * the kernel's header names onto this file. Each helper behaves as the
 * kernel's for every input the tests give (lib/kstrtox.c, lib/string.c,
 * lib/string_helpers.c, arch/x86/include/asm/div64.h).
 */
#ifndef _PVX_KSHIM_H
#define _PVX_KSHIM_H

#include <linux/types.h>	/* the system's, through shim/linux/types.h */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>	/* pid_t */

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(n)		(1UL << (n))

/* The kernel's min() and max() refuse operands of different types. */
#define __shim_cmp(a, b, op) ({				\
	__auto_type _a = (a);				\
	__auto_type _b = (b);				\
	(void)(&_a == &_b);				\
	_a op _b ? _a : _b; })
#define min(a, b)	__shim_cmp(a, b, <)
#define max(a, b)	__shim_cmp(a, b, >)

#define PAGE_SHIFT	12
#define PAGE_SIZE	BIT(PAGE_SHIFT)
#define IS_ALIGNED(x, a)	(((x) & ((typeof(x))(a) - 1)) == 0)
#define PAGE_ALIGNED(addr)	IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)

#define NUMA_NO_NODE	(-1)

static inline u64 div64_u64(u64 dividend, u64 divisor)
{
	return dividend / divisor;
}

static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

/*
 * x86's divq: a quotient above 64 bits is a divide error (#DE), which
 * would oops the kernel; here it kills the test that caused it.
 */
static inline u64 mul_u64_u64_div_u64(u64 a, u64 b, u64 c)
{
	unsigned __int128 q;

	if (!c)
		abort();
	q = (unsigned __int128)a * b / c;
	if (q > UINT64_MAX)
		abort();
	return (u64)q;
}

/* lib/sort.c's sort() sorts in place as qsort() does; no swap function. */
static inline void sort(void *base, size_t num, size_t size,
			int (*cmp_func)(const void *, const void *),
			void *swap_func)
{
	qsort(base, num, size, cmp_func);
}

/* The kernel's isspace(): its ctype also counts Latin-1 NBSP (0xa0). */
static inline bool shim_isspace(char c)
{
	unsigned char u = c;

	return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xa0;
}

static inline char *skip_spaces(const char *str)
{
	while (shim_isspace(*str))
		++str;
	return (char *)str;
}

static inline char *strim(char *s)
{
	size_t size = strlen(s);
	char *end;

	if (!size)
		return s;
	end = s + size - 1;
	while (end >= s && shim_isspace(*end))
		end--;
	*(end + 1) = '\0';
	return skip_spaces(s);
}

static inline bool sysfs_streq(const char *s1, const char *s2)
{
	while (*s1 && *s1 == *s2) {
		s1++;
		s2++;
	}
	if (*s1 == *s2)
		return true;
	if (!*s1 && *s2 == '\n' && !s2[1])
		return true;
	if (*s1 == '\n' && !s1[1] && !*s2)
		return true;
	return false;
}

/* lib/kstrtox.c's _kstrtoull() for an explicit base 8 or 10. */
static inline int shim_kstrtoull(const char *s, unsigned int base,
				 unsigned long long *res)
{
	unsigned long long r = 0;
	unsigned int d, n = 0;
	bool over = false;

	for (;; s++, n++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (*s | 0x20) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		if (r > (ULLONG_MAX - d) / base)
			over = true;
		r = r * base + d;
	}
	if (over)
		return -ERANGE;
	if (!n)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = r;
	return 0;
}

static inline int kstrtoll(const char *s, unsigned int base, long long *res)
{
	unsigned long long tmp;
	int rv;

	if (s[0] == '-') {
		rv = shim_kstrtoull(s + 1, base, &tmp);
		if (rv < 0)
			return rv;
		if ((long long)-tmp > 0)
			return -ERANGE;
		*res = -tmp;
	} else {
		if (s[0] == '+')
			s++;
		rv = shim_kstrtoull(s, base, &tmp);
		if (rv < 0)
			return rv;
		if ((long long)tmp < 0)
			return -ERANGE;
		*res = tmp;
	}
	return 0;
}

static inline int kstrtoint(const char *s, unsigned int base, int *res)
{
	long long tmp;
	int rv = kstrtoll(s, base, &tmp);

	if (rv < 0)
		return rv;
	if (tmp != (int)tmp)
		return -ERANGE;
	*res = tmp;
	return 0;
}

/*
 * lib/kstrtox.c's kstrtoull() and kstrtou32(): a leading '+', base 0
 * as _parse_integer_fixup_radix() reads it ("0x" and a hex digit: 16, a
 * leading 0: 8, else 10), "0x" skipped in base 16.
 */
static inline int kstrtoull(const char *s, unsigned int base,
			    unsigned long long *res)
{
	if (s[0] == '+')
		s++;
	if (!base) {
		if (s[0] == '0' && (s[1] | 0x20) == 'x' &&
		    strchr("0123456789abcdefABCDEF", s[2]) && s[2])
			base = 16;
		else if (s[0] == '0')
			base = 8;
		else
			base = 10;
	}
	if (base == 16 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	return shim_kstrtoull(s, base, res);
}

static inline int kstrtou32(const char *s, unsigned int base, u32 *res)
{
	unsigned long long tmp;
	int rv = kstrtoull(s, base, &tmp);

	if (rv < 0)
		return rv;
	if (tmp != (u32)tmp)
		return -ERANGE;
	*res = tmp;
	return 0;
}

#endif /* _PVX_KSHIM_H */

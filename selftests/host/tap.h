/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal kselftest-style TAP 13 output. The plan ("1..N") is printed at
 * the end, which TAP 13 allows, so that a program can decide at run time
 * how many cases apply. Exit status as kselftest: 0 pass, 1 fail, 4 all
 * skipped.
 */
#ifndef PVX_SELFTEST_TAP_H
#define PVX_SELFTEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static int tap_n, tap_npass, tap_nfail, tap_nskip;

static inline void tap_begin(void)
{
	printf("TAP version 13\n");
	fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3)))
bool tap_result(bool pass, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (pass)
		tap_npass++;
	else
		tap_nfail++;
	printf("%sok %d ", pass ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return pass;
}

static inline __attribute__((format(printf, 2, 3)))
void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	tap_nskip++;
	printf("ok %d ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	fflush(stdout);
}

static inline int tap_end(void)
{
	printf("1..%d\n", tap_n);
	printf("# Totals: pass:%d fail:%d skip:%d\n", tap_npass, tap_nfail, tap_nskip);
	fflush(stdout);
	if (tap_nfail)
		return KSFT_FAIL;
	if (!tap_npass && tap_nskip)
		return KSFT_SKIP;
	return KSFT_PASS;
}

#endif /* PVX_SELFTEST_TAP_H */

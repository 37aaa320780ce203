/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arithmetic of make bench's statistics, pure functions for
 * pvx_bench_stat and make bench's drivers in C (the benchmarks' tables,
 * Documentation/bench.rst) and its unit test
 * (selftests/unit/bench_stat_test.c); the tables' formatting of a
 * spread and of a floor's verdict.
 *
 * A sample is a double; NAN stands for a run that gave no number (a
 * missing result line, or a ratio without a value) and is left out of
 * every statistic, which counts it as dropped. A median of an even count
 * is the midpoint of the two middle samples.
 */
#ifndef _PVX_BENCH_STAT_H
#define _PVX_BENCH_STAT_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* count, median and min..max of a series' numbers */
struct bstat_spread {
	size_t n;		/* samples with a number */
	size_t dropped;		/* samples without (NAN) */
	double median;
	double min;
	double max;
};

/* a floor: the median (and each run) must be >= or <= the limit */
enum bstat_cmp {
	BSTAT_GE,
	BSTAT_LE,
};

/* ascending; insertion sort (a bench has tens of runs, not thousands) */
static inline void bstat_sort(double *v, size_t n)
{
	size_t i, j;
	double t;

	for (i = 1; i < n; i++) {
		t = v[i];
		for (j = i; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/*
 * The midpoint of two sorted samples: equal ones (two infinities
 * included) are their own midpoint; halves first, so that two large
 * samples do not overflow.
 */
static inline double bstat_mid(double lo, double hi)
{
	return lo == hi ? lo : lo / 2 + hi / 2;
}

/*
 * The spread of the numbers of v[0..n); scratch holds n doubles (sorted
 * numbers on return). 0, or -ENODATA when no sample has a number (s->n
 * is 0, s->dropped counts the samples).
 */
static inline int bstat_spread_of(const double *v, size_t n,
				  double *scratch, struct bstat_spread *s)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			scratch[k++] = v[i];
	s->n = k;
	s->dropped = n - k;
	if (!k)
		return -ENODATA;
	bstat_sort(scratch, k);
	s->min = scratch[0];
	s->max = scratch[k - 1];
	s->median = k % 2 ? scratch[k / 2] :
			    bstat_mid(scratch[k / 2 - 1], scratch[k / 2]);
	return 0;
}

/*
 * a / b of two measured quantities (counts, times, rates: never
 * negative). INFINITY for a > 0 over 0 (a wall timer's spurious rate
 * against a pvx timer's 0), NAN (no ratio) for 0 / 0, a negative or
 * missing operand.
 */
static inline double bstat_ratio(double a, double b)
{
	if (isnan(a) || isnan(b) || a < 0 || b < 0)
		return NAN;
	if (b == 0)
		return a > 0 ? INFINITY : NAN;
	return a / b;
}

/* out[i] = a[i] / b[i]: run i's own ratio (the runs paired) */
static inline void bstat_paired(const double *a, const double *b,
				size_t n, double *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = bstat_ratio(a[i], b[i]);
}

/*
 * The ratio of two series' medians (runs not paired), its range the
 * extremes: min(a) / max(b) .. max(a) / min(b); a bound without a value
 * (0 / 0) is the median's ratio. r->n is the smaller count, r->dropped
 * the samples either left out. 0, or -ENODATA when a series has no
 * number, -EDOM when the medians have no ratio.
 */
static inline int bstat_ratio_of_medians(const struct bstat_spread *a,
					 const struct bstat_spread *b,
					 struct bstat_spread *r)
{
	r->n = a->n < b->n ? a->n : b->n;
	r->dropped = a->dropped + b->dropped;
	if (!a->n || !b->n)
		return -ENODATA;
	r->median = bstat_ratio(a->median, b->median);
	if (isnan(r->median))
		return -EDOM;
	r->min = bstat_ratio(a->min, b->max);
	r->max = bstat_ratio(a->max, b->min);
	if (isnan(r->min))
		r->min = r->median;
	if (isnan(r->max))
		r->max = r->median;
	return 0;
}

/* whether x meets the floor; a sample without a number never does */
static inline bool bstat_meets(double x, enum bstat_cmp cmp, double limit)
{
	if (isnan(x))
		return false;
	return cmp == BSTAT_GE ? x >= limit : x <= limit;
}

/* how many of v[0..n) meet the floor on their own */
static inline size_t bstat_runs_meeting(const double *v, size_t n,
					enum bstat_cmp cmp, double limit)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += bstat_meets(v[i], cmp, limit);
	return k;
}

/*
 * Runs on either side of a floor (or paired ratios against 1, with
 * BSTAT_LE and 1): above, those that miss it; below, those that meet it;
 * equal, those at the limit (on neither side); a run without a number
 * counts in none.
 */
struct bstat_signs {
	size_t above, below, equal;
};

static inline void bstat_floor_signs(const double *v, size_t n,
				     enum bstat_cmp cmp, double limit,
				     struct bstat_signs *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (v[i] == limit)
			s->equal++;
		else if (bstat_meets(v[i], cmp, limit))
			s->below++;
		else
			s->above++;
	}
}

/*
 * The one-sided sign test: the chance that @k or more of @n paired runs
 * come out above when either side is as likely, P(X >= k) for X
 * binomial(n, 1/2); 1 for k = 0, 0 for k > n. Equal runs are left out
 * of @n by the caller (they say nothing about which side is larger).
 * Summed in double: exact while the binomial coefficients are (n up to
 * about 50), to double's precision beyond.
 */
static inline double bstat_sign_p(size_t k, size_t n)
{
	double c = 1, tail = 0;	/* c = C(n, i) */
	size_t i;

	if (k > n)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i >= k)
			tail += c;
		c = c * (double)(n - i) / (double)(i + 1);
	}
	return ldexp(tail, -(int)n);
}

/*
 * Which side the runs of @s fall on (bstat_floor_signs()), by the sign
 * test at @alpha: 1 (above: significantly more runs above than below),
 * -1 (below), 0 (a tie: the runs cannot tell the two apart); *@p the
 * test's p-value for the side the runs lean to (1 when they lean to
 * neither).
 */
static inline int bstat_sign_side(const struct bstat_signs *s, double alpha,
				  double *p)
{
	size_t n = s->above + s->below;

	*p = 1;
	if (s->above > s->below)
		*p = bstat_sign_p(s->above, n);
	else if (s->below > s->above)
		*p = bstat_sign_p(s->below, n);
	if (*p >= alpha)
		return 0;
	return s->above > s->below ? 1 : -1;
}

/*
 * How the tables print a number (pvx_bench_stat's -f, -s, -u): @fmt a
 * printf conversion of one double (%[.P]f|e|g), applied to x * @scale;
 * @unit follows a finite median ("x" for ratios, "" for plain numbers).
 */
struct bstat_style {
	const char *fmt;
	double scale;
	const char *unit;
};

/* append printf-style to the string in buf (cut to fit size) */
#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

static inline __printf(3, 4)
void bstat_cat(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static inline void bstat_cat_num(char *buf, size_t size,
				 const struct bstat_style *st, double x)
{
	size_t len = strnlen(buf, size);

	if (len + 1 < size)
		snprintf(buf + len, size - len, st->fmt, x * st->scale);
}

/* "0.95x<sep>n=5 0.8..1.1" appended (n=1: no range; "inf", not "infx") */
static inline void bstat_cat_spread(char *buf, size_t size,
				    const struct bstat_style *st,
				    const struct bstat_spread *s,
				    const char *sep)
{
	bstat_cat_num(buf, size, st, s->median);
	bstat_cat(buf, size, "%s%sn=%zu", isinf(s->median) ? "" : st->unit,
		  sep, s->n);
	if (s->n > 1) {
		bstat_cat(buf, size, " ");
		bstat_cat_num(buf, size, st, s->min);
		bstat_cat(buf, size, "..");
		bstat_cat_num(buf, size, st, s->max);
	}
}

/* ", D without a number" appended when runs had none */
static inline void bstat_cat_dropped(char *buf, size_t size,
				     const struct bstat_spread *s)
{
	if (s->dropped)
		bstat_cat(buf, size, ", %zu without a number", s->dropped);
}

/*
 * A spread as the tables print it into buf: "0.95x (n=5 0.8..1.1)", or
 * "-" when @ret says there is none (bstat_spread_of's return).
 */
static inline void bstat_format(char *buf, size_t size,
				const struct bstat_style *st,
				const struct bstat_spread *s, int ret)
{
	buf[0] = '\0';
	if (ret) {
		bstat_cat(buf, size, "-");
		return;
	}
	bstat_cat_spread(buf, size, st, s, " (");
	bstat_cat_dropped(buf, size, s);
	bstat_cat(buf, size, ")");
}

/* the spread of v[0..n) as the tables print it (scratch: n doubles) */
static inline void bstat_format_of(char *buf, size_t size,
				   const struct bstat_style *st,
				   const double *v, size_t n, double *scratch)
{
	struct bstat_spread s;
	int ret = bstat_spread_of(v, n, scratch, &s);

	bstat_format(buf, size, st, &s, ret);
}

/* the sign test's reading of a floor's runs at 5 % */
#define BSTAT_SIGN_ALPHA	0.05

/*
 * ", sign test: misses|meets|undecided p=P" appended: bstat_sign_side()'s
 * answer @side for a floor (its runs miss it, meet it, or neither).
 */
static inline void bstat_cat_floor_sign(char *buf, size_t size, int side, double p)
{
	bstat_cat(buf, size, ", sign test: %s p=%.2g",
		  side > 0 ? "misses" : side < 0 ? "meets" : "undecided", p);
}

/*
 * A floor's verdict on v[0..n) into buf (scratch: n doubles): "met (0.95x,
 * n=5 0.8..1.1, 3 of 5 runs, sign test: undecided p=0.5)", "MISSED
 * (...)", or "not evaluated, no result" when no run has a number. The
 * sign test (one-sided, BSTAT_SIGN_ALPHA) says whether the runs fall on
 * one side of the limit more often than chance would put them there if
 * the true value were the limit: "meets" or "misses" when so, else
 * "undecided" (the verdict on the median is then as good as a coin's).
 */
static inline void bstat_format_floor(char *buf, size_t size,
				      const struct bstat_style *st,
				      const double *v, size_t n,
				      double *scratch, enum bstat_cmp cmp,
				      double limit)
{
	struct bstat_signs signs;
	struct bstat_spread s;
	double p;
	int side;

	buf[0] = '\0';
	if (bstat_spread_of(v, n, scratch, &s)) {
		bstat_cat(buf, size, "not evaluated, no result");
		return;
	}
	bstat_cat(buf, size, "%s (",
		  bstat_meets(s.median, cmp, limit) ? "met" : "MISSED");
	bstat_cat_spread(buf, size, st, &s, ", ");
	bstat_cat(buf, size, ", %zu of %zu runs",
		  bstat_runs_meeting(v, n, cmp, limit), s.n);
	bstat_cat_dropped(buf, size, &s);
	bstat_floor_signs(v, n, cmp, limit, &signs);
	side = bstat_sign_side(&signs, BSTAT_SIGN_ALPHA, &p);
	bstat_cat_floor_sign(buf, size, side, p);
	bstat_cat(buf, size, ")");
}

/*
 * The value of KEY=value in a result line ("stimer kind=pvx fired=16
 * run=2": key "fired" gives "16") into val: true, or false when the line
 * has no such word.
 */
static inline bool bstat_field(const char *line, const char *key, char *val,
			       size_t size)
{
	size_t klen = strlen(key), vlen;
	const char *p = line;

	while (p && *p) {
		p += strspn(p, " \t");
		vlen = strcspn(p, " \t\r\n");
		if (vlen > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			snprintf(val, size, "%.*s", (int)(vlen - klen - 1),
				 p + klen + 1);
			return true;
		}
		p += vlen;
	}
	return false;
}

/* KEY's value in a result line as a number; NAN when none */
static inline double bstat_field_num(const char *line, const char *key)
{
	char val[64], *end;
	double x;

	if (!line || !bstat_field(line, key, val, sizeof(val)))
		return NAN;
	x = strtod(val, &end);
	return end != val && !*end ? x : NAN;
}

/* a table's line: "# " + it on stdout (TAP's comment) and into @tee */
static inline __printf(2, 3) void bstat_say(FILE *tee, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	if (!tee)
		return;
	va_start(ap, fmt);
	fputs("# ", tee);
	vfprintf(tee, fmt, ap);
	va_end(ap);
}

#endif /* _PVX_BENCH_STAT_H */

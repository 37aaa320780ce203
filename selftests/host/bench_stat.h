/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arithmetic of make bench's statistics, pure functions for
 * pvx_bench_stat (the benchmarks' tables, Documentation/bench.rst), the
 * C drivers that print their tables themselves (pvx_bench_*) and the unit
 * test (selftests/unit/bench_stat_test.c); and the text of a spread and
 * of a floor's verdict, the same for all of them.
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
static inline int bstat_spread_of(const double *v, size_t n, double *scratch,
				  struct bstat_spread *s)
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
static inline void bstat_paired(const double *a, const double *b, size_t n,
				double *out)
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

/* ---- the text of a spread, as the tables print it ----------------------- */

/* how a number is printed: a printf conversion, a factor, a unit suffix */
struct bstat_style {
	const char *fmt;	/* of one double: %[.P]f, %[.P]e or %[.P]g */
	double scale;		/* applied to what is printed */
	const char *unit;	/* after a finite median: "x" for ratios */
};

/*
 * printf onto the end of @buf (@size bytes, *@len used), cut to fit; no
 * format attribute: @fmt is also a table's own conversion of a number
 */
static inline void bstat_cat(char *buf, size_t size, size_t *len,
			     const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + n < size ? *len + n : size - 1;
}

/* "0.95x" @sep "n=5 0.8..1.1": a spread without its parentheses */
static inline void bstat_cat_spread(char *buf, size_t size, size_t *len,
				    const struct bstat_style *st,
				    const struct bstat_spread *s,
				    const char *sep)
{
	bstat_cat(buf, size, len, st->fmt, s->median * st->scale);
	/* "inf", not "infx" */
	bstat_cat(buf, size, len, "%s%sn=%zu",
		  isinf(s->median) ? "" : st->unit, sep, s->n);
	if (s->n > 1) {
		bstat_cat(buf, size, len, " ");
		bstat_cat(buf, size, len, st->fmt, s->min * st->scale);
		bstat_cat(buf, size, len, "..");
		bstat_cat(buf, size, len, st->fmt, s->max * st->scale);
	}
	if (s->dropped)
		bstat_cat(buf, size, len, ", %zu without a number", s->dropped);
}

/*
 * A spread as a table cell into @buf: "0.95x (n=5 0.8..1.1)", "-" when
 * @ret says there is none (an error of bstat_spread_of() or
 * bstat_ratio_of_medians()). Returns @buf.
 */
static inline char *bstat_format(char *buf, size_t size,
				 const struct bstat_style *st,
				 const struct bstat_spread *s, int ret)
{
	size_t len = 0;

	buf[0] = '\0';
	if (ret) {
		bstat_cat(buf, size, &len, "-");
		return buf;
	}
	bstat_cat_spread(buf, size, &len, st, s, " (");
	bstat_cat(buf, size, &len, ")");
	return buf;
}

/*
 * A floor's verdict on the median of v[0..n) into @buf: "met (0.95x, n=5
 * 0.8..1.1, 3 of 5 runs)", "MISSED (...)", or "not evaluated, no result";
 * scratch holds n doubles. Returns @buf.
 */
static inline char *bstat_format_floor(char *buf, size_t size,
				       const struct bstat_style *st,
				       const double *v, size_t n,
				       double *scratch, enum bstat_cmp cmp,
				       double limit)
{
	struct bstat_spread s;
	size_t len = 0;

	buf[0] = '\0';
	if (bstat_spread_of(v, n, scratch, &s)) {
		bstat_cat(buf, size, &len, "not evaluated, no result");
		return buf;
	}
	bstat_cat(buf, size, &len, "%s (",
		  bstat_meets(s.median, cmp, limit) ? "met" : "MISSED");
	s.dropped = 0;		/* said after the runs that met it */
	bstat_cat_spread(buf, size, &len, st, &s, ", ");
	bstat_cat(buf, size, &len, ", %zu of %zu runs",
		  bstat_runs_meeting(v, n, cmp, limit), s.n);
	if (n > s.n)
		bstat_cat(buf, size, &len, ", %zu without a number", n - s.n);
	bstat_cat(buf, size, &len, ")");
	return buf;
}

#endif /* _PVX_BENCH_STAT_H */

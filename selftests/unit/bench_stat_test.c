// SPDX-License-Identifier: GPL-2.0
/*
 * selftests/host/bench_stat.h, the arithmetic of pvx_bench_stat (make
 * bench's medians, ranges, ratios and floor verdicts), with exact
 * expected values: odd and even counts, one sample, ties, runs without a
 * number, and the guards of zero and negative operands; and the text the
 * tables print for a cell and a floor.
 */
#include "../host/bench_stat.h"

#include "kselftest_harness.h"

#define N	NAN
#define INF	INFINITY
#define MAXN	8

struct spread_case {
	const char *what;
	size_t n;
	double v[MAXN];
	int ret;
	struct bstat_spread s;		/* n, dropped, median, min, max */
};

static void check_spread(struct __test_metadata *_metadata,
			 const struct spread_case *c)
{
	double scratch[MAXN];
	struct bstat_spread s = { 0 };

	EXPECT_EQ(c->ret, bstat_spread_of(c->v, c->n, scratch, &s))
		TH_LOG("%s", c->what);
	EXPECT_EQ(c->s.n, s.n) TH_LOG("%s: count", c->what);
	EXPECT_EQ(c->s.dropped, s.dropped) TH_LOG("%s: dropped", c->what);
	if (c->ret)
		return;
	/* exact: each is one of the samples or the midpoint of two */
	EXPECT_EQ(c->s.median, s.median) TH_LOG("%s: median", c->what);
	EXPECT_EQ(c->s.min, s.min) TH_LOG("%s: min", c->what);
	EXPECT_EQ(c->s.max, s.max) TH_LOG("%s: max", c->what);
}

TEST(spread)
{
	static const struct spread_case c[] = {
		{ "one sample", 1, { 7 }, 0, { 1, 0, 7, 7, 7 } },
		{ "odd count, unsorted", 3, { 3, 1, 2 }, 0, { 3, 0, 2, 1, 3 } },
		{ "even count: the midpoint", 4, { 4, 1, 3, 2 }, 0,
		  { 4, 0, 2.5, 1, 4 } },
		{ "two samples", 2, { 10, 0.5 }, 0, { 2, 0, 5.25, 0.5, 10 } },
		{ "ties in the middle", 5, { 2, 9, 2, 2, 1 }, 0,
		  { 5, 0, 2, 1, 9 } },
		{ "even count, tied middle", 4, { 5, 3, 3, 1 }, 0,
		  { 4, 0, 3, 1, 5 } },
		{ "all equal", 6, { 4, 4, 4, 4, 4, 4 }, 0, { 6, 0, 4, 4, 4 } },
		{ "negative samples", 3, { -1, -5, 2 }, 0,
		  { 3, 0, -1, -5, 2 } },
		{ "zeros", 2, { 0, 0 }, 0, { 2, 0, 0, 0, 0 } },
		{ "runs without a number left out", 5, { N, 8, N, 6, 1 }, 0,
		  { 3, 2, 6, 1, 8 } },
		{ "one number among missing runs", 3, { N, 2, N }, 0,
		  { 1, 2, 2, 2, 2 } },
		{ "no number at all", 2, { N, N }, -ENODATA, { 0, 2, 0, 0, 0 } },
		{ "no sample", 0, { 0 }, -ENODATA, { 0, 0, 0, 0, 0 } },
		{ "infinite ratios sort last", 3, { INF, 2, INF }, 0,
		  { 3, 0, INF, 2, INF } },
		{ "two infinities are their own midpoint", 4,
		  { INF, 1, INF, INF }, 0, { 4, 0, INF, 1, INF } },
		{ "midpoint of large samples does not overflow", 2,
		  { 0x1p1023, 0x1.8p1023 }, 0,
		  { 2, 0, 0x1.4p1023, 0x1p1023, 0x1.8p1023 } },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		check_spread(_metadata, &c[i]);
}

TEST(ratio_guards)
{
	static const struct {
		const char *what;
		double a, b, r;
	} c[] = {
		{ "plain", 3, 4, 0.75 },
		{ "equal", 2.5, 2.5, 1 },
		{ "zero over a number", 0, 16, 0 },
		{ "a number over zero: infinite", 16, 0, INF },
		{ "zero over zero: none", 0, 0, N },
		{ "negative numerator: none", -1, 2, N },
		{ "negative denominator: none", 1, -2, N },
		{ "negative zero denominator: infinite", 1, -0.0, INF },
		{ "missing numerator", N, 2, N },
		{ "missing denominator", 2, N, N },
		{ "infinite numerator", INF, 2, INF },
		{ "infinite denominator", 2, INF, 0 },
	};
	unsigned int i;
	double r;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		r = bstat_ratio(c[i].a, c[i].b);
		/* NAN equals nothing: "no ratio" is its own outcome */
		EXPECT_TRUE(isnan(c[i].r) ? isnan(r) : r == c[i].r)
			TH_LOG("%s: %g", c[i].what, r);
	}
}

/* the runs paired: ratio by ratio, then the spread of those */
TEST(paired)
{
	static const double a[] = { 16, 16, 15, 0, 8, N };
	static const double b[] = { 0, 2, 2, 0, 4, 1 };
	double r[ARRAY_SIZE(a)], scratch[ARRAY_SIZE(a)];
	struct bstat_spread s;

	bstat_paired(a, b, ARRAY_SIZE(a), r);
	EXPECT_EQ(INF, r[0]);
	EXPECT_EQ(8, r[1]);
	EXPECT_EQ(7.5, r[2]);
	EXPECT_TRUE(isnan(r[3]));	/* 0 / 0 */
	EXPECT_EQ(2, r[4]);
	EXPECT_TRUE(isnan(r[5]));	/* a missing run */
	ASSERT_EQ(0, bstat_spread_of(r, ARRAY_SIZE(r), scratch, &s));
	EXPECT_EQ(4u, s.n);
	EXPECT_EQ(2u, s.dropped);
	EXPECT_EQ(7.75, s.median);
	EXPECT_EQ(2, s.min);
	EXPECT_EQ(INF, s.max);
}

TEST(ratio_of_medians)
{
	static const struct {
		const char *what;
		struct bstat_spread a, b;	/* n, dropped, med, min, max */
		int ret;
		struct bstat_spread r;
	} c[] = {
		{ "plain", { 3, 0, 4, 2, 6 }, { 3, 0, 2, 1, 4 }, 0,
		  { 3, 0, 2, 0.5, 6 } },
		{ "one sample each", { 1, 0, 3, 3, 3 }, { 1, 0, 4, 4, 4 }, 0,
		  { 1, 0, 0.75, 0.75, 0.75 } },
		{ "the smaller count", { 5, 1, 1, 1, 1 }, { 2, 2, 2, 2, 2 }, 0,
		  { 2, 3, 0.5, 0.5, 0.5 } },
		{ "over a zero median: infinite", { 2, 0, 3, 2, 4 },
		  { 2, 0, 0, 0, 0 }, 0, { 2, 0, INF, INF, INF } },
		/* 0 / 0 at a bound: the median's ratio there */
		{ "zero min over zero max", { 3, 0, 1, 0, 2 },
		  { 3, 0, 0, 0, 0 }, 0, { 3, 0, INF, INF, INF } },
		{ "zero min over a number", { 3, 0, 1, 0, 2 },
		  { 3, 0, 2, 1, 4 }, 0, { 3, 0, 0.5, 0, 2 } },
		{ "zero max of b at the high bound", { 3, 0, 0, 0, 0 },
		  { 3, 0, 2, 0, 4 }, 0, { 3, 0, 0, 0, 0 } },
		{ "no ratio of the medians", { 2, 0, 0, 0, 0 },
		  { 2, 0, 0, 0, 1 }, -EDOM, { 2, 0, 0, 0, 0 } },
		{ "negative median", { 2, 0, -1, -2, 0 }, { 2, 0, 1, 1, 1 },
		  -EDOM, { 2, 0, 0, 0, 0 } },
		{ "a has no number", { 0, 3, 0, 0, 0 }, { 2, 0, 1, 1, 1 }, -ENODATA,
		  { 0, 3, 0, 0, 0 } },
		{ "b has no number", { 2, 0, 1, 1, 1 }, { 0, 1, 0, 0, 0 }, -ENODATA,
		  { 0, 1, 0, 0, 0 } },
	};
	struct bstat_spread r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memset(&r, 0, sizeof(r));
		EXPECT_EQ(c[i].ret, bstat_ratio_of_medians(&c[i].a, &c[i].b, &r))
			TH_LOG("%s", c[i].what);
		EXPECT_EQ(c[i].r.n, r.n) TH_LOG("%s: count", c[i].what);
		EXPECT_EQ(c[i].r.dropped, r.dropped)
			TH_LOG("%s: dropped", c[i].what);
		if (c[i].ret)
			continue;
		EXPECT_EQ(c[i].r.median, r.median) TH_LOG("%s", c[i].what);
		EXPECT_EQ(c[i].r.min, r.min) TH_LOG("%s: min", c[i].what);
		EXPECT_EQ(c[i].r.max, r.max) TH_LOG("%s: max", c[i].what);
	}
}

TEST(floor_verdict)
{
	static const struct {
		const char *what;
		double x;
		enum bstat_cmp cmp;
		double limit;
		bool met;
	} c[] = {
		{ ">= at the limit", 2, BSTAT_GE, 2, true },
		{ ">= just below", 1.999, BSTAT_GE, 2, false },
		{ ">= infinite", INF, BSTAT_GE, 10, true },
		{ "<= at the limit", 1.02, BSTAT_LE, 1.02, true },
		{ "<= just above", 1.0201, BSTAT_LE, 1.02, false },
		{ "<= zero", 0, BSTAT_LE, 0.09, true },
		{ "<= infinite", INF, BSTAT_LE, 2, false },
		{ "negative limit", -3, BSTAT_LE, -1, true },
		{ "no number: >=", N, BSTAT_GE, 0, false },
		{ "no number: <=", N, BSTAT_LE, INF, false },
	};
	/* a floor "met" on the median by runs that mostly missed it */
	static const double runs[] = { 0.5, 2.5, N, 2, 1.9, INF };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].met, bstat_meets(c[i].x, c[i].cmp, c[i].limit))
			TH_LOG("%s", c[i].what);
	}
	EXPECT_EQ(3u, bstat_runs_meeting(runs, ARRAY_SIZE(runs), BSTAT_GE, 2));
	EXPECT_EQ(3u, bstat_runs_meeting(runs, ARRAY_SIZE(runs), BSTAT_LE, 2));
	EXPECT_EQ(0u, bstat_runs_meeting(runs, 0, BSTAT_GE, 0));
}

/* the text of a cell and of a floor, as every table prints it */
TEST(format)
{
	static const struct {
		const char *what, *fmt, *unit;
		size_t n;
		double v[MAXN];
		const char *text;
	} c[] = {
		{ "median, count, range", "%.3g", "", 3, { 3, 1, 2 }, "2 (n=3 1..3)" },
		{ "one run", "%.0f", "", 1, { 5 }, "5 (n=1)" },
		{ "a unit, runs without", "%.2f", "x", 4, { 1, N, 2, N },
		  "1.50x (n=2 1.00..2.00, 2 without a number)" },
		{ "an infinite median has no unit", "%.3g", "x", 1, { INF }, "inf (n=1)" },
		{ "no number", "%.3g", "", 2, { N, N }, "-" },
	};
	const double runs[] = { 0.9, 1.2, N, 1.1 }, half = 0.5;
	char buf[128], small[8];
	double scratch[MAXN];
	struct bstat_spread s;
	struct bstat_style st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		st = (struct bstat_style){ c[i].fmt, 1, c[i].unit };
		bstat_format(buf, sizeof(buf), &st, &s,
			     bstat_spread_of(c[i].v, c[i].n, scratch, &s));
		EXPECT_STREQ(c[i].text, buf) TH_LOG("%s", c[i].what);
	}
	st = (struct bstat_style){ "%.3g", 1, "x" };
	EXPECT_STREQ("met (1.1x, n=3 0.9..1.2, 2 of 3 runs, 1 without a number)",
		     bstat_format_floor(buf, sizeof(buf), &st, runs, 4, scratch, BSTAT_GE, 1));
	EXPECT_STREQ("MISSED (1.1x, n=3 0.9..1.2, 1 of 3 runs, 1 without a number)",
		     bstat_format_floor(buf, sizeof(buf), &st, runs, 4, scratch, BSTAT_LE, 1));
	EXPECT_STREQ("not evaluated, no result",
		     bstat_format_floor(buf, sizeof(buf), &st, runs + 2, 1, scratch, BSTAT_GE, 1));
	/* scaled, and cut to the buffer */
	st = (struct bstat_style){ "%.0f", 100, "%" };
	ASSERT_EQ(0, bstat_spread_of(&half, 1, scratch, &s));
	EXPECT_STREQ("50% (n=1)", bstat_format(buf, sizeof(buf), &st, &s, 0));
	bstat_format(small, sizeof(small), &st, &s, 0);
	EXPECT_STREQ("50% (n=", small);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * selftests/host/bench_stat.h, the arithmetic of pvx_bench_stat and the
 * C bench drivers (make bench's medians, ranges, ratios and floor
 * verdicts) and their text, with exact expected values: odd and even
 * counts, one sample, ties, runs without a number, the guards of zero
 * and negative operands, the tables' strings and result-line fields.
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

/* paired runs' signs and the one-sided sign test on them */
TEST(sign_test)
{
	static const double r[] = { 1.2, 0.8, 1, N, 1.0001, INF, 0 };
	struct bstat_signs s = { 9, 9, 9 };
	double p;

	bstat_floor_signs(r, ARRAY_SIZE(r), BSTAT_LE, 1, &s);
	EXPECT_EQ(3u, s.above);
	EXPECT_EQ(2u, s.below);
	EXPECT_EQ(1u, s.equal);
	bstat_floor_signs(r, 0, BSTAT_LE, 1, &s);
	EXPECT_EQ(0u, s.above + s.below + s.equal);

	EXPECT_EQ(1.0, bstat_sign_p(0, 0));
	EXPECT_EQ(1.0, bstat_sign_p(0, 16));
	EXPECT_EQ(0.5, bstat_sign_p(1, 1));
	EXPECT_EQ(0.25, bstat_sign_p(2, 2));
	EXPECT_EQ(0.0, bstat_sign_p(5, 4));
	/* (C(16,12) + ... + C(16,16)) / 2^16 = 2517 / 65536 */
	EXPECT_EQ(2517.0 / 65536, bstat_sign_p(12, 16));
	/* half of 2^16 and of C(16,8) */
	EXPECT_EQ(39203.0 / 65536, bstat_sign_p(8, 16));
	EXPECT_EQ(ldexp(1, -40), bstat_sign_p(40, 40));

	/* 12 above, 4 below: above at 5 %; the mirror below; 9 to 7 a tie */
	s = (struct bstat_signs){ 12, 4, 3 };
	EXPECT_EQ(1, bstat_sign_side(&s, 0.05, &p));
	EXPECT_EQ(2517.0 / 65536, p);
	s = (struct bstat_signs){ 4, 12, 0 };
	EXPECT_EQ(-1, bstat_sign_side(&s, 0.05, &p));
	EXPECT_EQ(2517.0 / 65536, p);
	EXPECT_EQ(0, bstat_sign_side(&s, 0.01, &p));
	s = (struct bstat_signs){ 9, 7, 0 };
	EXPECT_EQ(0, bstat_sign_side(&s, 0.05, &p));
	EXPECT_EQ(26333.0 / 65536, p);
	s = (struct bstat_signs){ 5, 5, 6 };
	EXPECT_EQ(0, bstat_sign_side(&s, 0.05, &p));
	EXPECT_EQ(1.0, p);
	s = (struct bstat_signs){ 0, 0, 0 };
	EXPECT_EQ(0, bstat_sign_side(&s, 0.05, &p));
}

/* the tables' text: pvx_bench_stat's and the C drivers' */
TEST(format)
{
	static const struct bstat_style pct = { "%.1f", 100, "%" }, x = { "%.3g", 1, "x" };
	static const double rates[] = { 0.1, 0.2, N }, one[] = { 0.95 }, none[] = { N, N };
	static const double ratios[] = { 1.01, 0.96, 1.05, N };
	static const double infs[] = { INF, INF };
	static const double one_dropped[] = { 1.01, N };
	static const char met_dropped[] =
		"met (1.01x, n=1, 1 of 1 runs, 1 without a number, sign test: undecided p=0.5)";
	/* six runs under 1.05, one at it: the sign test decides */
	static const double below[] = { 0.9, 1.0, 0.97, 1.04, 0.8, 1.05, 1 };
	double scratch[MAXN];
	char buf[128];

	bstat_format_of(buf, sizeof(buf), &pct, rates, 3, scratch);
	EXPECT_STREQ("15.0% (n=2 10.0..20.0, 1 without a number)", buf);
	bstat_format_of(buf, sizeof(buf), &x, one, 1, scratch);
	EXPECT_STREQ("0.95x (n=1)", buf);
	bstat_format_of(buf, sizeof(buf), &x, none, 2, scratch);
	EXPECT_STREQ("-", buf);
	bstat_format_of(buf, sizeof(buf), &x, infs, 2, scratch);
	EXPECT_STREQ("inf (n=2 inf..inf)", buf);
	bstat_format_floor(buf, sizeof(buf), &x, one_dropped, 2, scratch, BSTAT_LE, 1.02);
	EXPECT_STREQ(met_dropped, buf);
	bstat_format_floor(buf, sizeof(buf), &x, ratios, 3, scratch, BSTAT_GE, 2);
	EXPECT_STREQ("MISSED (1.01x, n=3 0.96..1.05, 0 of 3 runs, sign test: undecided p=0.12)",
		     buf);
	bstat_format_floor(buf, sizeof(buf), &x, below, 7, scratch, BSTAT_LE, 1.05);
	EXPECT_STREQ("met (1x, n=7 0.8..1.05, 7 of 7 runs, sign test: meets p=0.016)", buf);
	bstat_format_floor(buf, sizeof(buf), &x, below, 7, scratch, BSTAT_GE, 1.05);
	EXPECT_STREQ("MISSED (1x, n=7 0.8..1.05, 1 of 7 runs, sign test: misses p=0.016)", buf);
	bstat_format_floor(buf, sizeof(buf), &x, none, 2, scratch, BSTAT_GE, 2);
	EXPECT_STREQ("not evaluated, no result", buf);
	/* cut to fit, never past the buffer */
	bstat_format_of(buf, 8, &pct, rates, 3, scratch);
	EXPECT_STREQ("15.0% (", buf);
}

/* a result line's KEY=value words */
TEST(field)
{
	static const char line[] = "stimer label=steal=50 kind=pvx fired=16 run=2";
	char val[16];

	EXPECT_TRUE(bstat_field(line, "label", val, sizeof(val)));
	EXPECT_STREQ("steal=50", val);
	EXPECT_FALSE(bstat_field(line, "steal", val, sizeof(val)));
	EXPECT_FALSE(bstat_field(line, "stimer", val, sizeof(val)));
	EXPECT_EQ(16, bstat_field_num(line, "fired"));
	EXPECT_EQ(2, bstat_field_num(line, "run"));
	EXPECT_TRUE(isnan(bstat_field_num(line, "kind")));
	EXPECT_TRUE(isnan(bstat_field_num(line, "missed")));
	EXPECT_TRUE(isnan(bstat_field_num(NULL, "run")));
}

TEST_HARNESS_MAIN

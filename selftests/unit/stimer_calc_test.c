// SPDX-License-Identifier: GPL-2.0
/*
 * guest/stimer_calc.h in userspace: request and arming checks, the late
 * periods of a periodic timer fd's expiry, and the catch-up of a lazy one,
 * with exact expected values (the lab's pvx_stimer_test checks the same
 * arithmetic only within timing bounds).
 */
#include "stimer_calc.h"

#include "kselftest_harness.h"

#define US	1000ull
#define MS	1000000ull
#define MAX	PVX_STIMER_MAX_NS
#define FMAX	PVX_STIMER_CAP_FACTOR_MAX

TEST(check_request_and_cap)
{
	static const struct {
		const char *what;
		u64 eff, cap;
		int ret;
	} c[] = {
		{ "zero request", 0, 0, -EINVAL },
		{ "1 ns", 1, 0, 0 },
		{ "the longest request", MAX, 0, 0 },
		{ "past the longest", MAX + 1, 0, -EINVAL },
		{ "cap = request", MS, MS, 0 },
		{ "cap below request", MS, MS - 1, -EINVAL },
		{ "cap = 64 x request", MS, FMAX * MS, 0 },
		{ "cap past 64 x request", MS, FMAX * MS + 1, -EINVAL },
		{ "longest request, 64 x cap", MAX, FMAX * MAX, 0 },
		{ "zero request with a cap", 0, MS, -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].ret, pvx_stimer_check(c[i].eff, c[i].cap))
			TH_LOG("%s", c[i].what);
	}
}

TEST(spec_check)
{
	static const struct {
		const char *what;
		struct pvx_stimer_spec s;
		int ret;
	} c[] = {
		{ "disarm", { 0, 0, 0 }, 0 },
		{ "disarm with an interval", { 0, MS, 0 }, -EINVAL },
		{ "disarm with a cap", { 0, 0, MS }, -EINVAL },
		{ "one-shot", { MS, 0, 0 }, 0 },
		{ "interval below 100 us", { MS, 100 * US - 1, 0 }, -EINVAL },
		{ "interval of 100 us", { MS, 100 * US, 0 }, 0 },
		{ "interval past the longest", { MS, MAX + 1, 0 }, -EINVAL },
		{ "cap below the interval", { MS, 10 * MS, 5 * MS }, -EINVAL },
		{ "cap below the value", { 10 * MS, MS, 5 * MS }, -EINVAL },
		{ "cap 64 x the interval", { 10 * MS, MS, 64 * MS }, 0 },
		{ "cap past 64 x the interval", { 10 * MS, MS, 64 * MS + 1 }, -EINVAL },
		{ "value past the longest", { MAX + 1, MS, 0 }, -EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].ret, pvx_stimer_spec_check(&c[i].s))
			TH_LOG("%s", c[i].what);
	}
}

/* request, cap, wall, steal, interval, period cap -> late periods */
static const struct {
	const char *what;
	u64 request, cap, wall, steal, interval, period_cap, periods;
} late_cases[] = {
	{ "not run yet", MS, 4 * MS, 0, 0, MS, 4 * MS, 0 },
	{ "on time", MS, 4 * MS, MS, 0, MS, 4 * MS, 0 },
	{ "1 ns short of a period late", MS, 4 * MS, 2 * MS - 1, 0, MS, 4 * MS, 0 },
	{ "one period late", MS, 4 * MS, 2 * MS, 0, MS, 4 * MS, 1 },
	{ "2.5 periods late", MS, 4 * MS, 3500 * US, 0, MS, 4 * MS, 2 },
	/* due = 1 ms x 4 / 2 = 2 ms; 2 ms over, half of it stolen */
	{ "steal spread over the wait", MS, 4 * MS, 4 * MS, 2 * MS, MS, 4 * MS, 1 },
	{ "half stolen, on time", MS, 4 * MS, 2 * MS, MS, MS, 4 * MS, 0 },
	/* all stolen: due at the cap, 6 ms over = one 4 ms period cap */
	{ "all stolen", MS, 4 * MS, 10 * MS, 10 * MS, MS, 4 * MS, 1 },
	{ "steal above wall", MS, 4 * MS, 10 * MS, 12 * MS, MS, 4 * MS, 1 },
	/* eff 0.5 ms: due at the 2 ms cap, 8 ms over, four 2 ms caps */
	{ "cap bound counts", MS, 2 * MS, 10 * MS, 9500 * US, MS, 2 * MS, 4 },
	{ "at the cap", MS, 4 * MS, 4 * MS, 4 * MS, MS, 4 * MS, 0 },
};

TEST(late_periods)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(late_cases); i++) {
		EXPECT_EQ(late_cases[i].periods,
			  pvx_stimer_late_periods(late_cases[i].request, late_cases[i].cap,
						  late_cases[i].wall, late_cases[i].steal,
						  late_cases[i].interval,
						  late_cases[i].period_cap))
			TH_LOG("%s", late_cases[i].what);
	}
}

/*
 * The longest request with its largest cap, 2^63 ns of wall time: with
 * 1 ns of effective time, request x wall / eff would not fit in 64 bits,
 * a divide error on x86 (mul_u64_u64_div_u64(); kshim.h aborts the test
 * as the kernel would oops). The cap test comes first and takes due = cap.
 */
TEST(late_periods_no_divide_error)
{
	u64 wall = 1ull << 63, cap = FMAX * MAX;

	EXPECT_EQ(40030ull,
		  pvx_stimer_late_periods(MAX, cap, wall, wall - 1, MAX, cap));
	EXPECT_EQ(2562046ull,
		  pvx_stimer_late_periods(MAX, cap, wall, 1, MAX, cap));
}

/* interval, period cap, wall, steal, arming cap -> periods, req, req cap */
static const struct {
	const char *what;
	u64 interval, period_cap, wall, steal, cap_in;
	u64 periods, req, req_cap;
} catch_up_cases[] = {
	{ "a quarter period", MS, 4 * MS, 250 * US, 0, 0, 0, 750 * US, 0 },
	{ "a quarter period, own cap", MS, 4 * MS, 250 * US, 0, 4 * MS,
	  0, 750 * US, 3 * MS },
	{ "2.5 periods", MS, 4 * MS, 2500 * US, 0, 0, 2, 500 * US, 0 },
	{ "exactly 3 periods", MS, 4 * MS, 3 * MS, 0, 0, 3, MS, 0 },
	{ "read at once", MS, 4 * MS, 0, 0, 0, 0, MS, 0 },
	/* all stolen: the cap's count, a whole new period, cap untouched */
	{ "steal above wall", MS, 4 * MS, 5 * MS, 6 * MS, 4 * MS, 1, MS, 4 * MS },
	{ "cap count larger", MS, 2 * MS, 9 * MS, 8 * MS, 2 * MS, 4, MS, 2 * MS },
	/* equal counts: the effective bound keeps the phase */
	{ "equal counts", MS, MS, 3500 * US, 0, MS, 3, 500 * US, 500 * US },
};

TEST(catch_up)
{
	unsigned int i;
	u64 n, req, req_cap;

	for (i = 0; i < ARRAY_SIZE(catch_up_cases); i++) {
		req = 0;
		req_cap = catch_up_cases[i].cap_in;
		n = pvx_stimer_catch_up(catch_up_cases[i].interval,
					catch_up_cases[i].period_cap,
					catch_up_cases[i].wall, catch_up_cases[i].steal,
					&req, &req_cap);
		EXPECT_EQ(catch_up_cases[i].periods, n) TH_LOG("%s", catch_up_cases[i].what);
		EXPECT_EQ(catch_up_cases[i].req, req) TH_LOG("%s", catch_up_cases[i].what);
		EXPECT_EQ(catch_up_cases[i].req_cap, req_cap)
			TH_LOG("%s", catch_up_cases[i].what);
	}
}

/* What the caller relies on: 1 <= req <= interval, a valid restart. */
TEST(catch_up_restarts_validly)
{
	static const u64 walls[] = { 0, 1, MS - 1, MS, MS + 1, 7 * MS + 3,
				     1000 * MS };
	u64 req, req_cap, steal;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(walls); i++)
		for (steal = 0; steal <= 2 * MS; steal += 333 * US) {
			req_cap = 3 * MS;
			pvx_stimer_catch_up(MS, 3 * MS, walls[i], steal, &req,
					    &req_cap);
			EXPECT_EQ(0, pvx_stimer_check(req, req_cap))
				TH_LOG("wall %llu steal %llu: req %llu cap %llu",
				       (unsigned long long)walls[i],
				       (unsigned long long)steal,
				       (unsigned long long)req,
				       (unsigned long long)req_cap);
		}
}

TEST_HARNESS_MAIN

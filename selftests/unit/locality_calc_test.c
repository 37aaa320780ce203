// SPDX-License-Identifier: GPL-2.0
/*
 * guest/locality_calc.h in userspace: a page joining a hint batch, a
 * thread's runtime since the last round, sampled pages into a map of at
 * most max ranges, the bytes two maps share and when a map is sent again,
 * with exact results.
 */
#include "locality_calc.h"

#include "kselftest_harness.h"

#define PG	0x1000ull

static struct pvx_loc_batch b, sent;

static void set_ranges(struct pvx_loc_batch *x, unsigned int n,
		       const struct pvx_gpa_range *r)
{
	memset(x, 0, sizeof(*x));
	x->hdr.count = n;
	memcpy(x->r, r, n * sizeof(*r));
}

TEST(loc_add)
{
	unsigned int i;

	memset(&b, 0, sizeof(b));
	ASSERT_TRUE(pvx_loc_add(&b, 5 * PG));
	ASSERT_TRUE(pvx_loc_add(&b, 6 * PG));	/* joins the last range */
	ASSERT_TRUE(pvx_loc_add(&b, 8 * PG));	/* a gap: a new range */
	ASSERT_TRUE(pvx_loc_add(&b, 7 * PG));	/* below: not merged back */
	ASSERT_EQ(3u, b.hdr.count);
	EXPECT_EQ(5 * PG, b.r[0].gpa);
	EXPECT_EQ(2 * PG, b.r[0].len);
	EXPECT_EQ(8 * PG, b.r[1].gpa);
	EXPECT_EQ(PG, b.r[1].len);
	EXPECT_EQ(7 * PG, b.r[2].gpa);

	/* a full batch still grows its last range, takes no new one */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < PVX_NUMA_MAX_RANGES; i++)
		ASSERT_TRUE(pvx_loc_add(&b, 2 * i * PG));
	ASSERT_EQ(PVX_NUMA_MAX_RANGES, b.hdr.count);
	EXPECT_FALSE(pvx_loc_add(&b, 1000 * PG));
	EXPECT_EQ(PVX_NUMA_MAX_RANGES, b.hdr.count);
	EXPECT_TRUE(pvx_loc_add(&b, (2 * PVX_NUMA_MAX_RANGES - 1) * PG));
	EXPECT_EQ(PVX_NUMA_MAX_RANGES, b.hdr.count);
	EXPECT_EQ(2 * PG, b.r[PVX_NUMA_MAX_RANGES - 1].len);
}

TEST(runtime_delta)
{
	/* sorted by (pid, start): pid 20 twice, a recycled pid */
	static const struct pvx_lm_seen prev[] = {
		{ 10, 100, 1000 }, { 20, 50, 500 }, { 20, 300, 0 },
	};
	static const struct {
		const char *what;
		struct pvx_lm_seen e;
		u64 last_round, delta;
	} c[] = {
		{ "ran 500 more", { 10, 100, 1500 }, 350, 500 },
		{ "ran nothing", { 10, 100, 1000 }, 350, 0 },
		{ "runtime went back", { 10, 100, 900 }, 350, 0 },
		{ "the second pid 20", { 20, 300, 250 }, 350, 250 },
		{ "the first pid 20", { 20, 50, 800 }, 350, 300 },
		{ "born since the last round", { 20, 400, 700 }, 350, 700 },
		{ "born at the last round", { 30, 350, 5 }, 350, 5 },
		{ "older, not seen", { 30, 200, 700 }, 350, 0 },
		{ "first round", { 30, 400, 700 }, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].delta,
			  pvx_lm_runtime_delta(&c[i].e, prev, ARRAY_SIZE(prev),
					       c[i].last_round))
			TH_LOG("%s", c[i].what);
	}
	EXPECT_EQ(0ull, pvx_lm_runtime_delta(&c[0].e, prev, 0, 0));
}

/* pfns -> b; checks the ranges (in pages) and the bytes */
static u64 build_map(u64 *pfn, unsigned long n, unsigned int max)
{
	static struct pvx_gpa_range r[64];

	memset(&b, 0xff, sizeof(b.hdr));	/* the header is rewritten */
	return pvx_lm_build(pfn, n, r, &b, max);
}

#define EXPECT_RANGE(i, first, pages) do {		\
		const struct pvx_gpa_range *_r = &b.r[i];	\
		EXPECT_EQ((first) * PG, _r->gpa);	\
		EXPECT_EQ((pages) * PG, _r->len);	\
	} while (0)

TEST(build)
{
	u64 pfn[16];

	/* unsorted pages, merged where contiguous */
	memcpy(pfn, (u64[]){ 5, 3, 4, 10, 11, 20 }, 6 * sizeof(u64));
	ASSERT_EQ(6 * PG, build_map(pfn, 6, 255));
	ASSERT_EQ(3u, b.hdr.count);
	EXPECT_EQ(0u, b.hdr.flags);
	EXPECT_EQ(0ull, b.hdr.reserved);
	EXPECT_RANGE(0, 3, 3);
	EXPECT_RANGE(1, 10, 2);
	EXPECT_RANGE(2, 20, 1);

	/* one page sampled twice counts once */
	memcpy(pfn, (u64[]){ 7, 7, 8 }, 3 * sizeof(u64));
	ASSERT_EQ(2 * PG, build_map(pfn, 3, 255));
	ASSERT_EQ(1u, b.hdr.count);
	EXPECT_RANGE(0, 7, 2);

	ASSERT_EQ(0ull, build_map(pfn, 0, 255));
	EXPECT_EQ(0u, b.hdr.count);

	/* the 2 longest of 4 ranges, in address order */
	memcpy(pfn, (u64[]){ 13, 1, 2, 3, 7, 10, 11, 12, 20 }, 9 * sizeof(u64));
	ASSERT_EQ(7 * PG, build_map(pfn, 9, 2));
	ASSERT_EQ(2u, b.hdr.count);
	EXPECT_RANGE(0, 1, 3);
	EXPECT_RANGE(1, 10, 4);

	/* equal lengths: the lower addresses stay */
	memcpy(pfn, (u64[]){ 5, 3, 1 }, 3 * sizeof(u64));
	ASSERT_EQ(2 * PG, build_map(pfn, 3, 2));
	ASSERT_EQ(2u, b.hdr.count);
	EXPECT_RANGE(0, 1, 1);
	EXPECT_RANGE(1, 3, 1);
}

TEST(common)
{
	static const struct pvx_gpa_range a[] = {
		{ 1 * PG, 3 * PG }, { 16 * PG, PG },
	};
	static const struct pvx_gpa_range x[] = {
		{ 2 * PG, PG }, { 3 * PG, 16 * PG },
	};
	static const struct pvx_gpa_range far[] = { { 100 * PG, PG } };

	set_ranges(&b, 2, a);
	set_ranges(&sent, 2, x);
	/* [2,3) + [3,4) + [16,17) */
	EXPECT_EQ(3 * PG, pvx_lm_common(&b, &sent));
	EXPECT_EQ(3 * PG, pvx_lm_common(&sent, &b));
	EXPECT_EQ(4 * PG, pvx_lm_common(&b, &b));
	set_ranges(&sent, 1, far);
	EXPECT_EQ(0ull, pvx_lm_common(&b, &sent));
	set_ranges(&sent, 0, far);
	EXPECT_EQ(0ull, pvx_lm_common(&b, &sent));
}

/* sent [0, s) against [first, first + pages), in pages */
static bool differs_by(u64 s, u64 first, u64 pages)
{
	struct pvx_gpa_range r = { 0, s * PG };

	set_ranges(&sent, 1, &r);
	r = (struct pvx_gpa_range){ first * PG, pages * PG };
	set_ranges(&b, 1, &r);
	return pvx_lm_differs(&sent, s * PG, &b, pages * PG);
}

TEST(differs)
{
	EXPECT_FALSE(differs_by(8, 0, 8));		/* the same map */
	EXPECT_TRUE(differs_by(8, 1, 8));		/* 2 of 8 pages differ */
	EXPECT_FALSE(differs_by(16, 0, 17));	/* 1 page of 17 */
	EXPECT_FALSE(differs_by(16, 2, 14));	/* exactly 1/8: not sent */
	EXPECT_TRUE(differs_by(16, 3, 13));	/* more than 1/8 */
	EXPECT_TRUE(differs_by(16, 16, 16));	/* nothing in common */
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * host/numa_calc.h in userspace: a hint's header and range checks, the
 * sampling stride, the home node pick with its hysteresis and the room
 * act mode leaves on a node, with exact
 * expected values (the lab's pvx_numa_*_test see only their outcome).
 */
#include "numa_calc.h"

#include "kselftest_harness.h"

#define PG	4096ull		/* node bytes are whole pages */
#define NONE	NUMA_NO_NODE

TEST(hdr_check)
{
	static const struct {
		const char *what;
		struct pvx_batch_hdr hdr;	/* flags, count, reserved */
		long ret;
	} c[] = {
		{ "one range", { 0, 1, 0 }, 0 },
		{ "the most ranges", { 0, PVX_NUMA_MAX_RANGES, 0 }, 0 },
		{ "one range too many", { 0, PVX_NUMA_MAX_RANGES + 1, 0 }, -PVX_E2BIG },
		{ "no range", { 0, 0, 0 }, -PVX_EINVAL },
		{ "a flag", { 1, 1, 0 }, -PVX_EINVAL },
		{ "the top flag", { 0x80000000u, 1, 0 }, -PVX_EINVAL },
		{ "reserved set", { 0, 1, 1ull << 63 }, -PVX_EINVAL },
		/* the flags are checked before the count */
		{ "a flag and too many", { 1, PVX_NUMA_MAX_RANGES + 1, 0 }, -PVX_EINVAL },
	};
	unsigned int i;

	ASSERT_EQ(255u, PVX_NUMA_MAX_RANGES);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].ret, pvx_numa_hdr_check(&c[i].hdr))
			TH_LOG("%s", c[i].what);
	}
}

TEST(range_check)
{
	static const struct {
		const char *what;
		struct pvx_gpa_range r;		/* gpa, len */
		long ret;
	} c[] = {
		{ "one page", { 0x1000, 0x1000 }, 0 },
		{ "page 0", { 0, 0x1000 }, 0 },
		{ "empty", { 0x1000, 0 }, -PVX_EINVAL },
		{ "gpa not aligned", { 0x1001, 0x1000 }, -PVX_EINVAL },
		{ "len not aligned", { 0x1000, 0x1800 }, -PVX_EINVAL },
		{ "up to the last page", { 0, 0xfffffffffffff000ull }, 0 },
		{ "the last page", { 0xffffffffffffe000ull, 0x1000 }, 0 },
		/* ends at 2^64: the sum wraps to 0 */
		{ "ends at 2^64", { 0xfffffffffffff000ull, 0x1000 }, -PVX_E2BIG },
		{ "wraps", { 0xfffffffffffff000ull, 0x2000 }, -PVX_E2BIG },
		/* shape first: an unaligned range that wraps is invalid */
		{ "unaligned and wraps", { 0xfffffffffffff000ull, 0x2800 }, -PVX_EINVAL },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].ret, pvx_numa_range_check(&c[i].r))
			TH_LOG("%s", c[i].what);
	}
}

TEST(stride)
{
	static const struct {
		u64 pages;
		unsigned int sample;
		u64 stride;
	} c[] = {
		{ 1, 512, 1 },
		{ 512, 512, 1 },
		{ 513, 512, 2 },
		{ 1024, 512, 2 },
		{ 1025, 512, 3 },
		{ 1000, 1, 1000 },
		{ 7, 65536, 1 },
		/* 255 ranges of 2^52 pages: the largest batch, no overflow */
		{ 255ull << 52, 65536, 255ull << 36 },
		{ (255ull << 52) + 1, 65536, (255ull << 36) + 1 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].stride, pvx_numa_stride(c[i].pages, c[i].sample))
			TH_LOG("%llu pages, %u lookups",
			       (unsigned long long)c[i].pages, c[i].sample);
	}
}

/* node bytes (4 nodes), home, hysteresis % -> the pick */
static const struct {
	const char *what;
	u64 bytes[4];
	int nr, home;
	unsigned int h;
	int pick;
} pick_cases[] = {
	{ "no node", { 0 }, 0, NONE, 25, NONE },
	{ "nothing backed, no home", { 0, 0, 0, 0 }, 4, NONE, 25, NONE },
	/* the caller keeps the home on NUMA_NO_NODE */
	{ "nothing backed, a home", { 0, 0, 0, 0 }, 4, 2, 25, NONE },
	{ "no home: the most", { 0, 5 * PG, 9 * PG, 3 * PG }, 4, NONE, 25, 2 },
	{ "no home: first of equals", { 0, 9 * PG, 9 * PG, 0 }, 4, NONE, 25, 1 },
	{ "home is the most", { PG, 9 * PG, 0, 0 }, 4, 1, 25, 1 },
	{ "125% stays", { 100 * PG, 125 * PG, 0, 0 }, 4, 0, 25, 0 },
	{ "126% moves", { 100 * PG, 126 * PG, 0, 0 }, 4, 0, 25, 1 },
	{ "home has nothing", { 0, PG, 0, 0 }, 4, 0, 25, 1 },
	{ "h 0: equal stays", { 100 * PG, 100 * PG, 0, 0 }, 4, 1, 0, 1 },
	{ "h 0: one page more moves", { 100 * PG, 101 * PG, 0, 0 }, 4, 0, 0, 1 },
	{ "h 1000: 11x stays", { 10 * PG, 110 * PG, 0, 0 }, 4, 0, 1000, 0 },
	{ "h 1000: above 11x moves", { 10 * PG, 111 * PG, 0, 0 }, 4, 0, 1000, 1 },
	/*
	 * The comparison divides the best node's bytes by 100 + h first:
	 * within 100 + h bytes of the boundary the home stays. With h 1,
	 * 100 pages are more than 101% of 99 pages, and the home stays.
	 */
	{ "rounds toward the home", { 99 * PG, 100 * PG, 0, 0 }, 4, 0, 1, 0 },
	{ "the last node", { PG, 0, 0, 4 * PG }, 4, 0, 25, 3 },
	{ "only the nodes asked", { PG, 0, 0, 4 * PG }, 3, 0, 25, 0 },
};

TEST(pick_home)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pick_cases); i++) {
		EXPECT_EQ(pick_cases[i].pick,
			  pvx_numa_pick(pick_cases[i].bytes, pick_cases[i].nr, pick_cases[i].home,
					pick_cases[i].h))
			TH_LOG("%s", pick_cases[i].what);
	}
}

/*
 * Hysteresis both ways: once moved to node 1, the vCPU does not move back
 * to node 0 until node 0 has more than 125% of node 1's bytes.
 */
TEST(pick_no_flapping)
{
	u64 bytes[2] = { 100 * PG, 126 * PG };
	int home = NONE;

	home = pvx_numa_pick(bytes, 2, home, 25);
	ASSERT_EQ(1, home);
	bytes[0] = 150 * PG;
	bytes[1] = 121 * PG;
	home = pvx_numa_pick(bytes, 2, home, 25);
	EXPECT_EQ(1, home);
	bytes[0] = 152 * PG;
	home = pvx_numa_pick(bytes, 2, home, 25);
	EXPECT_EQ(0, home);
}

TEST(has_room)
{
	static const struct {
		const char *what;
		unsigned int placed, cpus;
		bool room;
	} c[] = {
		{ "an empty node of one CPU", 0, 1, true },
		{ "a one-CPU node with one placed vCPU (the layout that lost)", 1, 1, false },
		{ "two CPUs, one placed", 1, 2, true },
		{ "two CPUs, two placed", 2, 2, false },
		{ "more placed than CPUs (the cpuset narrowed since)", 3, 2, false },
		{ "no CPU the thread may use", 0, 0, false },
		{ "a large node", 63, 64, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].room, pvx_numa_has_room(c[i].placed, c[i].cpus))
			TH_LOG("%s", c[i].what);
	}
}

TEST_HARNESS_MAIN

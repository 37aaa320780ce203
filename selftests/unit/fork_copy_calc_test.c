// SPDX-License-Identifier: GPL-2.0
/*
 * host/fork_copy_calc.h in userspace: a fork-copy batch's header, each
 * pair's shape and the overlap of its pairs, with exact results (the
 * lab's pvx_fork_copy_test sees them through the hypercall's answers).
 */
#include "fork_copy_calc.h"

#include "kselftest_harness.h"

#define PG	0x1000ull

TEST(hdr_check)
{
	static const struct {
		const char *what;
		struct pvx_batch_hdr hdr;	/* flags, count, reserved */
		enum pvx_fc_stat s;
	} c[] = {
		{ "empty batch", { 0, 0, 0 }, PVX_FC_STAT_DONE },
		{ "one pair", { 0, 1, 0 }, PVX_FC_STAT_DONE },
		{ "a full page", { 0, PVX_COPY_MAX_PAIRS, 0 }, PVX_FC_STAT_DONE },
		{ "one pair too many", { 0, PVX_COPY_MAX_PAIRS + 1, 0 }, PVX_FC_STAT_TOO_BIG },
		{ "count 2^32 - 1", { 0, 0xffffffffu, 0 }, PVX_FC_STAT_TOO_BIG },
		{ "a flag", { 1, 1, 0 }, PVX_FC_STAT_RESERVED },
		{ "reserved set", { 0, 1, 1 }, PVX_FC_STAT_RESERVED },
		/* the reserved fields are checked before the count */
		{ "a flag and too many", { 1, 256, 0 }, PVX_FC_STAT_RESERVED },
	};
	unsigned int i;

	ASSERT_EQ(255u, PVX_COPY_MAX_PAIRS);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].s, pvx_fc_hdr_check(&c[i].hdr))
			TH_LOG("%s", c[i].what);
	}
}

TEST(pair_shape)
{
	static const struct {
		const char *what;
		struct pvx_copy_pair p;		/* src, dst */
		enum pvx_fc_stat s;
	} c[] = {
		{ "two pages", { PG, 2 * PG }, PVX_FC_STAT_DONE },
		{ "from page 0", { 0, PG }, PVX_FC_STAT_DONE },
		{ "the last page", { PG, 0xfffffffffffff000ull }, PVX_FC_STAT_DONE },
		{ "source not aligned", { PG + 1, 2 * PG }, PVX_FC_STAT_UNALIGNED },
		{ "destination not aligned", { PG, 3 * PG - 1 }, PVX_FC_STAT_UNALIGNED },
		{ "one page", { PG, PG }, PVX_FC_STAT_SAME_PAGE },
		/* alignment first */
		{ "one unaligned address", { PG + 8, PG + 8 }, PVX_FC_STAT_UNALIGNED },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].s, pvx_fc_pair_shape(&c[i].p))
			TH_LOG("%s", c[i].what);
	}
}

/* Pairs in pages: A -> B is { A * PG, B * PG }. */
#define P(a, b)	{ (a) * PG, (b) * PG }

TEST(overlap_small)
{
	static const struct {
		const char *what;
		u32 n;
		struct pvx_copy_pair p[3];
		bool overlap;
	} c[] = {
		{ "no pair", 0, { P(1, 2) }, false },
		{ "one pair", 1, { P(1, 2) }, false },
		{ "disjoint", 2, { P(1, 2), P(3, 4) }, false },
		{ "one source twice", 3, { P(1, 2), P(1, 3), P(1, 4) }, false },
		{ "one destination twice", 2, { P(1, 2), P(3, 2) }, true },
		{ "a chain", 2, { P(1, 2), P(2, 3) }, true },
		{ "a chain backwards", 2, { P(2, 3), P(1, 2) }, true },
		{ "a swap", 2, { P(1, 2), P(2, 1) }, true },
		{ "a cycle of three", 3, { P(1, 2), P(2, 3), P(3, 1) }, true },
		/* equal in their low 32 bits: compared as u64, not by a difference */
		{ "4 GiB apart", 2, { P(0x100001, 2), P(3, 1) }, false },
		{ "4 GiB apart, written and read", 2, { P(0x100001, 2), P(3, 0x100001) }, true },
		/* only the first n pairs count */
		{ "past n", 2, { P(1, 2), P(3, 4), P(2, 1) }, false },
	};
	u64 scratch[3];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].overlap, pvx_fc_overlap(c[i].p, c[i].n, scratch))
			TH_LOG("%s", c[i].what);
	}
}

/* A full batch: 255 pairs, destinations in descending order. */
static void full_batch(struct pvx_copy_pair *p)
{
	u32 i;

	for (i = 0; i < PVX_COPY_MAX_PAIRS; i++) {
		p[i].src_gpa = (0x100 + i) * PG;
		p[i].dst_gpa = (0x400 - i) * PG;
	}
}

TEST(overlap_full_batch)
{
	struct pvx_copy_pair p[PVX_COPY_MAX_PAIRS];
	u64 scratch[PVX_COPY_MAX_PAIRS];

	full_batch(p);
	EXPECT_FALSE(pvx_fc_overlap(p, PVX_COPY_MAX_PAIRS, scratch));
	/* the first and the last pair write one page */
	p[PVX_COPY_MAX_PAIRS - 1].dst_gpa = p[0].dst_gpa;
	EXPECT_TRUE(pvx_fc_overlap(p, PVX_COPY_MAX_PAIRS, scratch));
	/* pair 200 reads what pair 17 writes */
	full_batch(p);
	p[200].src_gpa = p[17].dst_gpa;
	EXPECT_TRUE(pvx_fc_overlap(p, PVX_COPY_MAX_PAIRS, scratch));
	/* the highest and lowest addresses: the sort's ends */
	full_batch(p);
	p[0].dst_gpa = 0xfffffffffffff000ull;
	p[1].dst_gpa = 0;
	EXPECT_FALSE(pvx_fc_overlap(p, PVX_COPY_MAX_PAIRS, scratch));
	p[2].src_gpa = 0xfffffffffffff000ull;
	EXPECT_TRUE(pvx_fc_overlap(p, PVX_COPY_MAX_PAIRS, scratch));
	full_batch(p);
	p[1].dst_gpa = 0;
	p[254].src_gpa = 0;
	EXPECT_TRUE(pvx_fc_overlap(p, PVX_COPY_MAX_PAIRS, scratch));
}

TEST_HARNESS_MAIN

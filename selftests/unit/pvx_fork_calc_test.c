// SPDX-License-Identifier: GPL-2.0
/*
 * guest/libpvx/pvx_fork_calc.h in userspace: whether pvx_fork() copies
 * through the host or is a plain fork(), from PROBE's paging facts, the
 * THP policy, the ranges' backing and size, and LIBPVX_FORK_PATH, with
 * exact results (the lab's pvx_fork_guest_test sees the same decisions
 * through pvx_fork_stats()).
 */
#include "libpvx/pvx_fork_calc.h"

#include "kselftest_harness.h"

#define MIB	(1024ull * 1024)

TEST(paging_of)
{
	static const struct {
		unsigned long long rdx;
		enum pvx_fork_paging want;
	} c[] = {
		/* an old host: call bits only */
		{ 0, PVX_FORK_PAGING_UNKNOWN },
		{ PVX_F_ALL, PVX_FORK_PAGING_UNKNOWN },
		{ PVX_F_PROBE | PVX_PROBE_PAGING_KNOWN, PVX_FORK_PAGING_SHADOW },
		{ PVX_F_ALL | PVX_PROBE_INFO_ALL, PVX_FORK_PAGING_NESTED },
		/* NESTED without KNOWN is no valid answer */
		{ PVX_F_PROBE | PVX_PROBE_NESTED_PAGING, PVX_FORK_PAGING_UNKNOWN },
		/* other bits, of later hosts, change nothing */
		{ 0xfffc0000ull | PVX_PROBE_PAGING_KNOWN, PVX_FORK_PAGING_SHADOW },
		{ 0xfffc0000ull | PVX_PROBE_NESTED_PAGING, PVX_FORK_PAGING_UNKNOWN },
	};
	unsigned int i;

	ASSERT_EQ(0x10000u, PVX_PROBE_PAGING_KNOWN);
	ASSERT_EQ(0x20000u, PVX_PROBE_NESTED_PAGING);
	ASSERT_EQ(0u, PVX_PROBE_INFO_ALL & PVX_F_ALL);
	for (i = 0; i < ARRAY_SIZE(c); i++)
		EXPECT_EQ((int)c[i].want, (int)pvx_fork_paging_of(c[i].rdx))
			TH_LOG("rdx 0x%llx", c[i].rdx);
}

TEST(thp_of)
{
	static const struct {
		const char *s;
		enum pvx_fork_thp want;
	} c[] = {
		{ "[always] madvise never\n", PVX_FORK_THP_ALWAYS },
		{ "always [madvise] never\n", PVX_FORK_THP_MADVISE },
		{ "always madvise [never]\n", PVX_FORK_THP_NEVER },
		{ "always madvise [never]", PVX_FORK_THP_NEVER },
		{ "", PVX_FORK_THP_UNKNOWN },
		{ NULL, PVX_FORK_THP_UNKNOWN },
		{ "always madvise never\n", PVX_FORK_THP_UNKNOWN },
		{ "[always", PVX_FORK_THP_UNKNOWN },
		{ "[inherit] always", PVX_FORK_THP_UNKNOWN },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		EXPECT_EQ((int)c[i].want, (int)pvx_fork_thp_of(c[i].s)) TH_LOG("case %u", i);
}

TEST(force_of)
{
	static const struct {
		const char *s;
		enum pvx_fork_force want;
	} c[] = {
		{ NULL, PVX_FORK_FORCE_AUTO },
		{ "", PVX_FORK_FORCE_AUTO },
		{ "auto", PVX_FORK_FORCE_AUTO },
		{ "copy", PVX_FORK_FORCE_COPY },
		{ "fork", PVX_FORK_FORCE_PLAIN },
		{ "Copy", PVX_FORK_FORCE_BAD },
		{ "copy ", PVX_FORK_FORCE_BAD },
		{ "cop", PVX_FORK_FORCE_BAD },
		{ "forks", PVX_FORK_FORCE_BAD },
		{ "1", PVX_FORK_FORCE_BAD },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		EXPECT_EQ((int)c[i].want, (int)pvx_fork_force_of(c[i].s)) TH_LOG("case %u", i);
}

/* A range of @mib MiB, all resident, @huge_mib of it in huge pages. */
static struct pvx_fork_facts facts(enum pvx_fork_paging paging, enum pvx_fork_thp thp,
				   unsigned long long mib, unsigned long long huge_mib)
{
	struct pvx_fork_facts f = {
		.paging = paging, .thp = thp,
		.bytes = mib * MIB, .resident = mib * MIB, .huge = huge_mib * MIB,
	};

	return f;
}

/* facts() as a constant initializer: @mib twice, bytes and resident */
#define FACTS(paging, thp, mib, resident_mib, huge_mib)				\
	{ (paging), (thp), false, false, (mib) * MIB, (resident_mib) * MIB, (huge_mib) * MIB }

TEST(decide_cells)
{
	/* the fork-copy table's cells (fork_copy.rst) and their edges */
	static const struct {
		const char *what;
		struct pvx_fork_facts f;
		enum pvx_fork_why want;
	} c[] = {
		{ "shadow, THP never, 64 MiB",
		  FACTS(PVX_FORK_PAGING_SHADOW, PVX_FORK_THP_NEVER, 64, 64, 0),
		  PVX_FORK_WHY_SHADOW },
		{ "shadow, THP always, 256 MiB",
		  FACTS(PVX_FORK_PAGING_SHADOW, PVX_FORK_THP_ALWAYS, 256, 256, 256),
		  PVX_FORK_WHY_SHADOW },
		{ "shadow, 4 KiB",
		  FACTS(PVX_FORK_PAGING_SHADOW, PVX_FORK_THP_ALWAYS, 4, 4, 0),
		  PVX_FORK_WHY_SHADOW },
		{ "old host, nested in truth, THP never",
		  FACTS(PVX_FORK_PAGING_UNKNOWN, PVX_FORK_THP_NEVER, 64, 64, 0),
		  PVX_FORK_WHY_UNKNOWN_PAGING },
		{ "nested, THP never, 64 MiB (1.52x)",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_NEVER, 64, 64, 0),
		  PVX_FORK_WHY_NESTED_NO_THP },
		{ "nested, THP never, 256 MiB (1.45x)",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_NEVER, 256, 256, 0),
		  PVX_FORK_WHY_NESTED_NO_THP },
		{ "nested, THP always, 64 MiB huge (0.80x)",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_ALWAYS, 64, 64, 64),
		  PVX_FORK_WHY_NESTED_HUGE },
		{ "nested, THP always, 256 MiB huge (0.73x)",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_ALWAYS, 256, 256, 224),
		  PVX_FORK_WHY_NESTED_HUGE },
		{ "nested, THP always, unbacked: no huge pages (1.08x)",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_ALWAYS, 64, 64, 0),
		  PVX_FORK_WHY_NESTED_4K },
		{ "nested, THP always, 16 MiB (1.01x to 1.25x)",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_ALWAYS, 16, 16, 16),
		  PVX_FORK_WHY_NESTED_SMALL },
		{ "nested, one page under 64 MiB",
		  { PVX_FORK_PAGING_NESTED, PVX_FORK_THP_ALWAYS, false, false,
		    64 * MIB - 4096, 64 * MIB - 4096, 62 * MIB }, PVX_FORK_WHY_NESTED_SMALL },
		{ "nested, THP unknown",
		  FACTS(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_UNKNOWN, 64, 64, 64),
		  PVX_FORK_WHY_NESTED_NO_THP },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		EXPECT_EQ((int)c[i].want, (int)pvx_fork_decide(&c[i].f, PVX_FORK_FORCE_AUTO))
			TH_LOG("case %u", i);
}

TEST(decide_huge_share)
{
	struct pvx_fork_facts f = facts(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_ALWAYS, 64, 32);

	/* exactly half in huge pages copies, one page less does not */
	EXPECT_EQ(PVX_FORK_WHY_NESTED_HUGE, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	f.huge -= 4096;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_4K, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	/* nothing resident: nothing to copy */
	f.resident = 0;
	f.huge = 0;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_4K, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	/* more huge than resident is no smaps answer: no copy */
	f.resident = 64 * MIB;
	f.huge = 64 * MIB + 4096;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_4K, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	/* sparse: 16 of 64 MiB resident, all of it huge */
	f.resident = 16 * MIB;
	f.huge = 16 * MIB;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_HUGE, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
}

TEST(decide_advice)
{
	struct pvx_fork_facts f = facts(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_MADVISE, 64, 64);

	/* madvise without MADV_HUGEPAGE: the fresh copy gets 4 KiB pages */
	EXPECT_EQ(PVX_FORK_WHY_NESTED_NO_THP, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	f.advised_huge = true;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_HUGE, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	/* MADV_NOHUGEPAGE on one of the mappings wins, in every policy */
	f.advised_nohuge = true;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_NO_THP, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	f.thp = PVX_FORK_THP_ALWAYS;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_NO_THP, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	f.advised_nohuge = false;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_HUGE, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
	/* never: MADV_HUGEPAGE gives nothing */
	f.thp = PVX_FORK_THP_NEVER;
	EXPECT_EQ(PVX_FORK_WHY_NESTED_NO_THP, (int)pvx_fork_decide(&f, PVX_FORK_FORCE_AUTO));
}

TEST(decide_forced)
{
	struct pvx_fork_facts lose = facts(PVX_FORK_PAGING_NESTED, PVX_FORK_THP_NEVER, 64, 0);
	struct pvx_fork_facts win = facts(PVX_FORK_PAGING_SHADOW, PVX_FORK_THP_NEVER, 64, 0);

	EXPECT_EQ(PVX_FORK_WHY_FORCED_COPY, (int)pvx_fork_decide(&lose, PVX_FORK_FORCE_COPY));
	EXPECT_EQ(PVX_FORK_WHY_FORCED_PLAIN, (int)pvx_fork_decide(&win, PVX_FORK_FORCE_PLAIN));
	/* a bad value is auto */
	EXPECT_EQ(PVX_FORK_WHY_NESTED_NO_THP, (int)pvx_fork_decide(&lose, PVX_FORK_FORCE_BAD));
	EXPECT_EQ(PVX_FORK_WHY_SHADOW, (int)pvx_fork_decide(&win, PVX_FORK_FORCE_BAD));
}

TEST(why_copies)
{
	EXPECT_TRUE(pvx_fork_why_copies(PVX_FORK_WHY_FORCED_COPY));
	EXPECT_TRUE(pvx_fork_why_copies(PVX_FORK_WHY_UNKNOWN_PAGING));
	EXPECT_TRUE(pvx_fork_why_copies(PVX_FORK_WHY_SHADOW));
	EXPECT_TRUE(pvx_fork_why_copies(PVX_FORK_WHY_NESTED_HUGE));
	EXPECT_FALSE(pvx_fork_why_copies(PVX_FORK_WHY_FORCED_PLAIN));
	EXPECT_FALSE(pvx_fork_why_copies(PVX_FORK_WHY_NESTED_SMALL));
	EXPECT_FALSE(pvx_fork_why_copies(PVX_FORK_WHY_NESTED_NO_THP));
	EXPECT_FALSE(pvx_fork_why_copies(PVX_FORK_WHY_NESTED_4K));
}

TEST_HARNESS_MAIN

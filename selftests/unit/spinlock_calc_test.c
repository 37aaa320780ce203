// SPDX-License-Identifier: GPL-2.0
/*
 * guest/spinlock_calc.h in userspace: the lock word's fields, the queue
 * tail's encoding, when a locker that is not queued may take the word,
 * and the words a steal, a queue head's acquisition, a head's halt and
 * an unlock leave, with exact expected values. The lab's lock torture
 * checks the same lock under contention end to end.
 */
#include "spinlock_calc.h"

#include "kselftest_harness.h"

#define L	PVX_SPIN_LOCKED
/* a lock word from its fields: passes, halted head's CPU + 1, tail */
#define WORD(locked, passes, hhead, tail)				\
	((u64)(locked) |						\
	 (u64)(u16)(passes) << PVX_SPIN_PASSES_SHIFT |			\
	 (u64)(u16)(hhead) << PVX_SPIN_HHEAD_SHIFT |			\
	 (u64)(u16)(tail) << PVX_SPIN_TAIL_SHIFT)

TEST(fields)
{
	u64 v = WORD(L, 0x1234, 8, 0xfffe);

	EXPECT_EQ(0x1234, pvx_spin_passes(v));
	EXPECT_EQ(7, pvx_spin_halted_head(v));
	EXPECT_EQ(-1, pvx_spin_halted_head(WORD(L, 3, 0, 9)));
	EXPECT_EQ(0xfffe, pvx_spin_tail(v));
	EXPECT_EQ(16383u, PVX_SPIN_CPUS_MAX);
}

TEST(tail_encoding)
{
	static const struct {
		int cpu;
		unsigned int idx;
		u16 tail;
	} c[] = {
		{ 0, 0, 4 }, { 0, 3, 7 }, { 1, 0, 8 }, { 5, 2, 26 },
		{ 16382, 3, 0xffff },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		u16 t = pvx_spin_tail_of(c[i].cpu, c[i].idx);

		EXPECT_EQ(c[i].tail, t) TH_LOG("cpu %d idx %u", c[i].cpu, c[i].idx);
		EXPECT_EQ(c[i].cpu, pvx_spin_tail_cpu(t));
		EXPECT_EQ(c[i].idx, pvx_spin_tail_idx(t));
		/* 0 is "nobody queued": no node encodes to it */
		EXPECT_NE(0, t);
	}
}

TEST(may_steal)
{
	static const struct {
		const char *what;
		u64 val;
		unsigned int limit;
		bool may;
	} c[] = {
		{ "initial", 0, 256, true },
		{ "held", WORD(L, 0, 0, 0), 256, false },
		{ "held, queued", WORD(L, 3, 0, 8), 256, false },
		{ "free, queued, head passed 255 times", WORD(0, 255, 0, 8), 256, true },
		{ "free, queued, head passed 256 times", WORD(0, 256, 0, 8), 256, false },
		{ "free, queued, head halted", WORD(0, 0, 2, 8), 256, true },
		{ "free, nobody queued, stale count", WORD(0, 300, 0, 0), 256, true },
		{ "FIFO: free, queued", WORD(0, 0, 0, 8), 0, false },
		{ "FIFO: free, nobody queued", WORD(0, 0, 0, 0), 0, true },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].may, pvx_spin_may_steal(c[i].val, c[i].limit))
			TH_LOG("%s", c[i].what);
	}
}

TEST(stolen_word)
{
	/* nobody queued: held, the count stays 0 */
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_stolen(0));
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_stolen(WORD(0, 300, 0, 0)));
	/* queued: one more pass of the head; the tail and halt mark stay */
	EXPECT_EQ(WORD(L, 1, 0, 8), pvx_spin_stolen(WORD(0, 0, 0, 8)));
	EXPECT_EQ(WORD(L, 256, 3, 0x1d), pvx_spin_stolen(WORD(0, 255, 3, 0x1d)));
}

TEST(head_taken_word)
{
	/* the last in the queue: the queue empties */
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_head_taken(WORD(0, 7, 0, 12), 12));
	/* a successor swapped the tail: it stays, the count restarts */
	EXPECT_EQ(WORD(L, 0, 0, 20), pvx_spin_head_taken(WORD(0, 256, 0, 20), 12));
	/* its own halt mark, left by an interrupt that woke it, goes */
	EXPECT_EQ(WORD(L, 0, 0, 0), pvx_spin_head_taken(WORD(0, 2, 4, 12), 12));
}

TEST(halt_and_release)
{
	u64 v = pvx_spin_head_halting(WORD(L, 5, 0, 12), 2);

	EXPECT_EQ(WORD(L, 5, 3, 12), v);
	EXPECT_EQ(2, pvx_spin_halted_head(v));
	/* re-marking replaces, never adds */
	EXPECT_EQ(WORD(L, 5, 1, 12), pvx_spin_head_halting(v, 0));
	/* the release clears held and the mark, keeps passes and tail */
	EXPECT_EQ(WORD(0, 5, 0, 12), pvx_spin_released(v));
	EXPECT_EQ(0ull, pvx_spin_released(WORD(L, 0, 0, 0)));
	EXPECT_EQ(-1, pvx_spin_halted_head(pvx_spin_released(v)));
}

TEST_HARNESS_MAIN
